package deploy_test

import (
	"fmt"
	"testing"
	"time"
)

// TestComposeTopologyNatively runs docker-compose.yml's flexauth services
// as processes of the flexauth binary, each with its command line and
// environment from the compose file (only what a single host changes is
// substituted, see newService), against PostgreSQL and Temporal on it, and
// signs users in through both API replicas with the mail going out
// through the smtp plugin over STARTTLS.
func TestComposeTopologyNatively(t *testing.T) {
	n := startNative(t)
	rec := &recorder{}
	for i := range n.apis {
		for _, method := range []string{"pin", "passwordless"} {
			authid := fmt.Sprintf("user-api%d-%s", i+1, method)
			n.addUser(authid, method)
			o := n.signIn(rec, authid, method, i, time.Now().Add(30*time.Second))
			if o.final != "authenticated" || o.err != nil || o.doubled {
				t.Fatalf("sign-in %s through api-%d: final %q, doubled %v, %v", method, i+1, o.final, o.doubled, o.err)
			}
			if got := n.mail.To(authid + "@example.com"); len(got) != 1 {
				t.Errorf("%s: %d messages, want 1", authid, len(got))
			}
			if c, err := n.authenticatedEvents(rec, o.attempt); err != nil || c != 1 {
				t.Errorf("%s: %d attempt.authenticated events (%v), want 1", authid, c, err)
			}
			t.Logf("%s through api-%d: authenticated in %v", method, i+1, o.ended.Sub(o.started).Round(time.Millisecond))
		}
	}
	if rec.refused != 0 || len(rec.fiveXX) != 0 || len(rec.timeouts) != 0 {
		t.Errorf("with every replica up: %d refused, 5xx %v, timeouts %v", rec.refused, rec.fiveXX, rec.timeouts)
	}
}
