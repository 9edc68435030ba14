package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/internal/deploytest"
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
			rejected := len(h.AuditTypes("authid=pinner&type=code.rejected&attempt=" + att.ID))
			b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": wrongCode(code)}, false), http.StatusAccepted, "result", "pending")
			// The code is judged in the background: wait for its verdict
			// (a rejection counted, or the lock) before the next one.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if h.attemptState(att.ID) == store.AttemptLocked || len(h.AuditTypes("authid=pinner&type=code.rejected&attempt="+att.ID)) > rejected {
					break
				}
			}
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

	// Whoever guessed locked the PIN, not the administrator: the next
	// sign-in sends a link instead, and the link signs the genuine
	// administrator in, in the browser that confirms it.
	t.Run("with the pin locked, a link still signs the administrator in", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("pinner")
		if att.Method != "passwordless" {
			t.Fatalf("sign-in with the pin locked uses %q, want a link", att.Method)
		}
		if res := b.confirm(h.outbox.message(t, att.ID).Link); res.Status != http.StatusOK {
			t.Fatalf("confirm = %d %s", res.Status, res.Body)
		}
		b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "pinner")
	})
}

// A flood of anonymous console sign-ins for an administrator stops at the
// console's own limits, past which nothing is recorded at all, and never
// spends the application's start budget for that user.
func TestConsoleSignInFloodIsBoundedAndSparesTheApp(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki", "methods": []string{"pin"}, "sensitivity": "low", "ttl_seconds": 300}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/pinner/systems", req{"assignments": []req{
		{"system": "console", "method": "pin"}, {"system": "wiki", "method": "pin"},
	}}, http.StatusOK)
	const flood = 15
	for range flood {
		res := newBrowser(t, h).do(http.MethodPost, "/v1/admin/session", req{"account": deploytest.Account, "authid": "pinner"}, false)
		if res.Status != http.StatusOK && res.Status != http.StatusTooManyRequests {
			t.Fatalf("sign-in = %d %s", res.Status, res.Body)
		}
	}
	// The background starts settle: at most the console's per-address
	// budget (5) of attempts, each with its handful of audit events.
	var attempts []store.Attempt
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if attempts, err = h.Store.UserAttempts(context.Background(), deploytest.Account, "pinner", 100); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) || (len(attempts) >= 5 && h.consoleStartsSettled(attempts)) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(attempts) == 0 || len(attempts) > 5 {
		t.Fatalf("%d console attempts after %d sign-ins, want 1 to 5", len(attempts), flood)
	}
	events, err := h.Store.ListAudit(context.Background(), store.AuditFilter{AccountID: deploytest.Account, AuthID: "pinner", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) > 5*len(attempts) {
		t.Fatalf("%d audit events for %d attempts: refused sign-ins grow the trail", len(events), len(attempts))
	}
	// The application's sign-ins for the same user are untouched: all ten
	// of its per-user budget are left.
	for range 10 {
		h.Start("wiki", "pinner")
	}
}

// consoleStartsSettled reports whether every attempt has a decision.
func (h *harness) consoleStartsSettled(atts []store.Attempt) bool {
	for _, a := range atts {
		if a.State == store.AttemptPending && a.Method == "" {
			return false
		}
	}
	return true
}

// attemptState is the state of the attempt's row.
func (h *harness) attemptState(id string) string {
	h.t.Helper()
	att, err := h.Store.GetAttempt(context.Background(), id)
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

// A code sent at once, before the background start has begun the attempt
// (the page is quick, or the worker busy), is judged once the attempt
// begins, not dropped: the sign-in completes without typing it again.
func TestConsoleCodeBeforeTheAttemptHasBegun(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "quick", "name": "Quick", "email": "quick@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/quick/systems", req{"assignments": []req{{"system": "console", "method": "totp"}}}, http.StatusOK)
	u, err := h.Store.GetUser(t.Context(), deploytest.Account, "quick")
	if err != nil {
		t.Fatal(err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "flexauth", AccountName: "quick"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := h.Keys.Seal([]byte(key.Secret()), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := h.Store.SetTOTPPending(t.Context(), u.ID, sealed, now); err != nil {
		t.Fatal(err)
	}
	if err := h.Store.ActivateTOTP(t.Context(), u.ID, sealed, 0, now); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, h)
	b.want(b.do(http.MethodPost, "/v1/admin/session", req{"account": deploytest.Account, "authid": "quick"}, false), http.StatusOK, "result", "pending")
	code, err := totp.GenerateCode(key.Secret(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res := b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": code}, false)
	for deadline := time.Now().Add(10 * time.Second); res.Status == http.StatusAccepted && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		res = b.do(http.MethodPost, "/v1/admin/session/check", nil, false)
	}
	b.want(res, http.StatusOK, "result", "authenticated")
}
