package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/store"
)

// wrongPIN returns a PIN that is not code.
func wrongPIN(code string) string {
	if code == "00000000" {
		return "11111111"
	}
	return "00000000"
}

// Guessing a user's PIN locks the PIN, not the user: the next sign-in is
// offered a link instead, which still signs the genuine user in. The run
// of failures survives the old 15-minute window and only an administrator
// or a PIN success ends it.
func TestLockedPINLeavesTheLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"pin", "passwordless"}, "low", "erin", "pin")
	code := h.outbox.message(t, h.Start("wiki", "erin")).Code
	for range 5 {
		h.Expect("/v1/check", req{"system": "wiki", "authid": "erin", "pin": wrongPIN(code)}, http.StatusForbidden, "security error")
	}
	h.Expect("/v1/check", req{"system": "wiki", "authid": "erin", "pin": code}, http.StatusForbidden, "security error")

	user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/erin", nil, http.StatusOK)
	locks := user.Lockouts
	if len(locks) != 1 || locks[0].Factor != "pin" || !locks[0].Locked ||
		locks[0].Failures != 5 {
		t.Fatalf("lockouts = %v, want the pin locked after 5 failures", user.Lockouts)
	}

	// A new start is offered a link, and the link signs in.
	out := apitest.ExpectAs[apitest.StartSuccess](h.Client, "/v1/start", req{"system": "wiki", "authid": "erin"}, http.StatusOK, "success")
	if out.Method != "passwordless" {
		t.Fatalf("start with the pin locked = %v, want a link", out)
	}
	link := h.outbox.message(t, out.Attempt).Link
	if res := h.Page(http.MethodPost, link); res.Status != http.StatusOK {
		t.Fatalf("confirm link = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "wiki", "authid": "erin"}, http.StatusOK, "authenticated")

	// A link sign-in does not reopen the PIN someone was guessing.
	user = adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/erin", nil, http.StatusOK)
	if locks := user.Lockouts; len(locks) != 1 {
		t.Fatalf("lockouts after a link sign-in = %v, want the pin still locked", user.Lockouts)
	}

	// An administrator clears it (audited); the PIN is back.
	cleared := adminAs[apitest.LockoutsCleared](h, http.MethodDelete, "/v1/admin/users/erin/lockout", nil, http.StatusOK)
	if c := cleared.Cleared; len(c) != 1 {
		t.Fatalf("cleared = %v", cleared)
	}
	if types := h.AuditTypes("authid=erin&type=user.lockout_cleared"); len(types) != 1 {
		t.Fatalf("lockout_cleared events = %v", types)
	}
	if types := h.AuditTypes("authid=erin&type=" + attempt.EventFactorLocked); len(types) != 1 {
		t.Fatalf("factor.locked events = %v, want one", types)
	}
	out = apitest.ExpectAs[apitest.StartSuccess](h.Client, "/v1/start", req{"system": "wiki", "authid": "erin"}, http.StatusOK, "success")
	if out.Method != "pin" {
		t.Fatalf("start after clearing = %v, want the pin", out)
	}
	if res := h.Do(http.MethodDelete, "/v1/admin/users/erin/lockout?factor=password", h.AdminKey, nil); res.Status != http.StatusBadRequest {
		t.Fatalf("clear an unknown factor = %d %s, want 400", res.Status, res.Body)
	}
	if res := h.Do(http.MethodDelete, "/v1/admin/users/nobody/lockout", h.AdminKey, nil); res.Status != http.StatusNotFound {
		t.Fatalf("clear for nobody = %d %s, want 404", res.Status, res.Body)
	}
}

// check may name the attempt its start returned: it then answers for that
// attempt only, never for a later one of the same subject.
func TestCheckBoundToItsAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless"}, "low", "fay", "passwordless")
	h.Setup("blog", []string{"passwordless"}, "low", "gus", "passwordless")
	first := h.Start("wiki", "fay")
	second := h.Start("wiki", "fay")
	link := h.outbox.message(t, second).Link
	if res := h.Page(http.MethodPost, link); res.Status != http.StatusOK {
		t.Fatalf("confirm = %d %s", res.Status, res.Body)
	}
	for _, c := range []struct {
		name   string
		body   req
		status int
		result string
	}{
		{"unbound: the latest", req{"system": "wiki", "authid": "fay"}, http.StatusOK, "authenticated"},
		{"bound to the authenticated one", req{"system": "wiki", "authid": "fay", "attempt": second}, http.StatusOK, "authenticated"},
		{"bound to the superseded one", req{"system": "wiki", "authid": "fay", "attempt": first}, http.StatusForbidden, "security error"},
		{"another subject's attempt", req{"system": "blog", "authid": "gus", "attempt": second}, http.StatusForbidden, "security error"},
		{"another system", req{"system": "blog", "authid": "fay", "attempt": second}, http.StatusForbidden, "security error"},
		{"an attempt that does not exist", req{"system": "wiki", "authid": "fay", "attempt": "00000000-0000-0000-0000-000000000000"}, http.StatusForbidden, "security error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			apitest.ExpectAs[apitest.Result](h.Client, "/v1/check", c.body, c.status, c.result)
		})
	}
	for _, bad := range []any{strings.Repeat("a", 65), 12, true} {
		res := h.App("/v1/check", req{"system": "wiki", "authid": "fay", "attempt": bad})
		if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "attempt") {
			t.Errorf("attempt %v = %d %s, want 400 naming attempt", bad, res.Status, res.Body)
		}
	}
}

// Concurrent starts for one subject each answer success or a security
// error, never 5xx, and every superseded start's outcome is recorded.
func TestConcurrentStartsForOneSubject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless"}, "low", "hal", "passwordless")
	const starts = 6
	statuses := make([]int, starts)
	bodies := make([]string, starts)
	var wg sync.WaitGroup
	for i := range starts {
		wg.Go(func() {
			res := h.App("/v1/start", req{"system": "wiki", "authid": "hal"})
			statuses[i], bodies[i] = res.Status, res.Body
		})
	}
	wg.Wait()
	succeeded := 0
	for i, st := range statuses {
		switch {
		case st == http.StatusOK:
			succeeded++
		case st == http.StatusForbidden && bodies[i] == `{"result":"security error"}`:
		default:
			t.Errorf("start %d = %d %s, want 200 or 403 security error", i, st, bodies[i])
		}
	}
	if succeeded == 0 {
		t.Fatal("no start succeeded")
	}
	// Every start left an attempt row; only the last can be pending, and
	// every superseded one says so in the audit trail.
	ctx := context.Background()
	rows, err := h.Store.UserAttempts(ctx, deploytest.Account, "hal", 100)
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for _, r := range rows {
		if r.State == store.AttemptPending {
			pending++
		}
	}
	if len(rows) != starts || pending != 1 {
		t.Fatalf("%d attempts, %d pending; want %d and 1", len(rows), pending, starts)
	}
	if cancelled := h.AuditTypes("authid=hal&type=attempt.cancelled"); len(cancelled) != starts-1 {
		t.Fatalf("%d attempt.cancelled events, want %d", len(cancelled), starts-1)
	}
}
