package api_test

import (
	"net/http"
	"testing"
)

// A wrong code in a console sign-in leaves the attempt usable: the answer
// is "pending" and the sign-in cookie stays, so the right code still signs
// in; once the policy's limit locks the attempt, the sign-in ends.
func TestConsoleSignInWrongCode(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)

	t.Run("a wrong code, then the right one", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("pinner", "pin")
		code := h.outbox.message(t, att.ID).Code
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": wrongCode(code)}, false), http.StatusAccepted, "result", "pending")
		if b.cookie("flexauth_signin") == "" {
			t.Fatal("a wrong code cleared the sign-in cookie")
		}
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": code}, false), http.StatusOK, "result", "authenticated")
		b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "pinner")
	})

	t.Run("wrong codes up to the limit end the sign-in", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("pinner", "pin")
		code := h.outbox.message(t, att.ID).Code
		// The default policy allows 5 wrong codes on a medium system, fewer
		// after recent failures: send wrong codes until one is refused.
		for i := 0; ; i++ {
			res := b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": wrongCode(code)}, false)
			if res.Status == http.StatusForbidden {
				b.want(res, http.StatusForbidden, "result", "security error")
				break
			}
			b.want(res, http.StatusAccepted, "result", "pending")
			if i == 5 {
				t.Fatal("6 wrong codes and the attempt is still pending")
			}
		}
		if b.cookie("flexauth_signin") != "" {
			t.Fatal("the locked sign-in kept its cookie")
		}
		res := b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": code}, false)
		if res.Status != http.StatusForbidden {
			t.Fatalf("the right code after the lock = %d %s, want 403", res.Status, res.Body)
		}
	})
}

// wrongCode changes code's last digit.
func wrongCode(code string) string {
	b := []byte(code)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}
