package api

import (
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/flexauth/flexauth/internal/storetest"
)

// TestAPollIsOneStatement counts what a poll of check sends to the
// database: applications poll every few seconds for every waiting user, so
// a poll is one query (the key and the attempt together), and never a
// call to Temporal. The key's "last used" is written at most once a
// minute, on the first poll here.
func TestAPollIsOneStatement(t *testing.T) {
	f := newFixture(t)
	h := f.server(brokenTemporal{err: serviceerror.NewUnavailable("a poll must not reach Temporal")}).Handler()
	counted := storetest.CountStatements(f.st)
	polls := []struct {
		name, body string
		status     int
	}{
		{"the subject's latest attempt", `{"system":"vpn","authid":"bob"}`, http.StatusAccepted},
		{"the attempt named", `{"system":"vpn","authid":"bob","attempt":"` + f.pinID + `"}`, http.StatusAccepted},
		{"another subject's attempt named", `{"system":"vpn","authid":"carol","attempt":"` + f.pinID + `"}`, http.StatusForbidden},
		{"a subject without attempts", `{"system":"vpn","authid":"dave"}`, http.StatusForbidden},
	}
	f.post(t, h, "/v1/check", polls[0].body) // records the key's use
	counted.Take()
	for _, p := range polls {
		t.Run(p.name, func(t *testing.T) {
			rec := f.post(t, h, "/v1/check", p.body)
			if rec.Code != p.status {
				t.Fatalf("check = %d %s, want %d", rec.Code, rec.Body.String(), p.status)
			}
			got := pollStatements(counted.TakeTexts())
			t.Logf("check: %q", got)
			if len(got) != 1 {
				t.Errorf("a poll ran %d statements, want 1: %q", len(got), got)
			}
		})
	}
}

// pollStatements leaves out of texts the server's link dispatcher's
// passes: it runs on its own (one pass as the server starts, another on a
// timer), and on a slow machine the first may land while a poll is
// counted.
func pollStatements(texts []string) []string {
	var out []string
	for _, q := range texts {
		if !strings.Contains(q, `FROM "credential_links"`) {
			out = append(out, q)
		}
	}
	return out
}
