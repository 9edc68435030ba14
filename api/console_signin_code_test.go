package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/flexauth/flexauth/store"
)

// A wrong code in a console sign-in leaves the attempt usable: the answer
// is "pending" and the sign-in cookie stays, so the right code still signs
// in. Once the policy's limit locks the attempt, nothing signs in, and the
// page hears "pending" as for a sign-in that never had an attempt: a lock
// does not tell an attacker that the user is an administrator.
func TestConsoleSignInWrongCode(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)

	t.Run("a wrong code, then the right one", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("pinner")
		code := h.outbox.message(t, att.ID).Code
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": wrongCode(code)}, false), http.StatusAccepted, "result", "pending")
		if b.cookie("flexauth_signin") == "" {
			t.Fatal("a wrong code cleared the sign-in cookie")
		}
		b.want(b.enterCode(code), http.StatusOK, "result", "authenticated")
		b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "pinner")
	})

	t.Run("wrong codes up to the limit lock the attempt without saying so", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("pinner")
		code := h.outbox.message(t, att.ID).Code
		// The default policy allows 5 wrong codes on a medium system, fewer
		// after recent failures: send wrong codes until the attempt locks.
		for i := 0; h.attemptState(att.ID) != store.AttemptLocked; i++ {
			if i == 7 {
				t.Fatalf("7 wrong codes and the attempt is %s, want locked", h.attemptState(att.ID))
			}
			b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": wrongCode(code)}, false), http.StatusAccepted, "result", "pending")
		}
		if b.cookie("flexauth_signin") == "" {
			t.Fatal("the locked sign-in lost its cookie: the page could tell it from one without an attempt")
		}
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": code}, false), http.StatusAccepted, "result", "pending")
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", nil, false), http.StatusAccepted, "result", "pending")
		wantError(t, b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusUnauthorized, "not signed in")
		if types := h.AuditTypes("authid=pinner&attempt=" + att.ID); !slices.Contains(types, "attempt.locked") {
			t.Fatalf("events of the attempt = %v, want the lock recorded", types)
		}
	})
}

// attemptState is the state of the attempt's row.
func (h *harness) attemptState(id string) string {
	h.t.Helper()
	att, err := h.st.GetAttempt(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return att.State
}

// wrongCode changes code's last digit.
func wrongCode(code string) string {
	b := []byte(code)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}
