package deploy_test

import (
	"fmt"
	"net/http"
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

	// The delivery runs inside the attempt's first workflow task, but a
	// slow mail server holds the start back only until the task's
	// heartbeat: the start answers while the message is still on its way,
	// and the sign-in completes with that one message.
	const slow = "user-slow-mail"
	n.addUser(slow, "pin")
	n.mail.SetDelay(slow+"@example.com", 8*time.Second)
	api := 0
	began := time.Now()
	a, err := n.jsonCall(rec, &api, http.MethodPost, "/v1/start", n.appKey, map[string]any{"system": "shop", "authid": slow}, time.Now())
	if err != nil || a.status != http.StatusOK {
		t.Fatalf("start with a slow mail server: %d %s %v", a.status, a.body, err)
	}
	answered := time.Since(began)
	if got := n.mail.To(slow + "@example.com"); len(got) != 0 {
		t.Fatalf("the start answered after %v, once the slow delivery was done: it waited for the whole delivery", answered)
	}
	o := n.signInStarted(rec, outcome{authid: slow, method: "pin", started: began}, a, api, time.Now().Add(60*time.Second))
	if o.final != "authenticated" || o.err != nil || o.doubled {
		t.Fatalf("sign-in with a slow mail server: final %q, doubled %v, %v", o.final, o.doubled, o.err)
	}
	if got := n.mail.To(slow + "@example.com"); len(got) != 1 {
		t.Errorf("slow mail server: %d messages, want 1", len(got))
	}
	t.Logf("slow mail server (8 s): start answered after %v, sign-in authenticated", answered.Round(time.Millisecond))
}
