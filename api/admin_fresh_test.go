package api_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
)

// reauthBody is how every change that needs a fresh sign-in answers a
// stale console session; the console turns it into its re-sign-in dialog.
const reauthBody = `{"error":"fresh sign-in required","reauth":true}`

// TestAdministratorPowersNeedFreshSignIn: a console session signed in more
// than 10 minutes ago cannot make or change an administrator, their second
// factor, their contact data or the console's own system, which is how a
// stolen or forgotten session would be turned into a lasting takeover.
func TestAdministratorPowersNeedFreshSignIn(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki", "methods": []string{"passwordless", "pin"}, "sensitivity": "low"}, http.StatusCreated)
	for _, authid := range []string{"mallory", "dora"} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "name": "User " + authid, "email": authid + "@example.com"}, http.StatusCreated)
	}
	b := newBrowser(t, h)
	b.signIn("root")
	t.Cleanup(func() { h.skew.Store(0) })
	stale := func() { h.skew.Store(int64(11 * time.Minute)) }
	fresh := func() { h.skew.Store(0) }

	// wantReauth asserts that a stale session is refused, and that the same
	// call then succeeds once the session is fresh again.
	wantReauth := func(t *testing.T, method, path string, body any, okStatus int) apitest.Response {
		t.Helper()
		stale()
		if res := b.do(method, path, body, true); res.Status != http.StatusForbidden || res.Body != reauthBody {
			t.Fatalf("%s %s %v after 11 minutes = %d %s, want 403 %s", method, path, body, res.Status, res.Body, reauthBody)
		}
		fresh()
		res := b.do(method, path, body, true)
		if res.Status != okStatus {
			t.Fatalf("%s %s %v with a fresh sign-in = %d %s, want %d", method, path, body, res.Status, res.Body, okStatus)
		}
		return res
	}
	// wantStaleOK asserts that a stale session may still make the change.
	wantStaleOK := func(t *testing.T, method, path string, body any, okStatus int) {
		t.Helper()
		stale()
		defer fresh()
		if res := b.do(method, path, body, true); res.Status != okStatus {
			t.Fatalf("%s %s %v after 11 minutes = %d %s, want %d", method, path, body, res.Status, res.Body, okStatus)
		}
	}

	t.Run("enrolling TOTP needs a fresh sign-in", func(t *testing.T) {
		enrol := apitest.Decode[apitest.TOTPEnrolment](t, wantReauth(t, http.MethodPost, "/v1/admin/users/dora/totp", nil, http.StatusOK))
		code, err := totp.GenerateCode(enrol.Secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		wantReauth(t, http.MethodPost, "/v1/admin/users/dora/totp/verify", req{"code": code}, http.StatusOK)
		if u := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/dora", nil, http.StatusOK); !u.TOTPEnabled {
			t.Fatalf("dora after enrolment = %v", u)
		}
	})

	t.Run("making a user an administrator needs a fresh sign-in", func(t *testing.T) {
		// Creating a user gives no power; assigning it the console does.
		wantStaleOK(t, http.MethodPost, "/v1/admin/users", req{"authid": "eve", "name": "Eve"}, http.StatusCreated)
		wantReauth(t, http.MethodPut, "/v1/admin/users/mallory/systems",
			req{"assignments": []req{{"system": "console", "method": "passwordless"}}}, http.StatusOK)
	})

	t.Run("changing an administrator's console method needs a fresh sign-in", func(t *testing.T) {
		wantReauth(t, http.MethodPut, "/v1/admin/users/mallory/systems",
			req{"assignments": []req{{"system": "console", "method": "pin"}}}, http.StatusOK)
	})

	t.Run("other assignments of an administrator need no fresh sign-in", func(t *testing.T) {
		wantStaleOK(t, http.MethodPut, "/v1/admin/users/mallory/systems",
			req{"assignments": []req{{"system": "console", "method": "pin"}, {"system": "wiki", "method": "passwordless"}}}, http.StatusOK)
		wantStaleOK(t, http.MethodPut, "/v1/admin/users/eve/systems",
			req{"assignments": []req{{"system": "wiki", "method": "pin"}}}, http.StatusOK)
	})

	t.Run("removing an administrator's console assignment needs a fresh sign-in", func(t *testing.T) {
		wantReauth(t, http.MethodPut, "/v1/admin/users/mallory/systems",
			req{"assignments": []req{{"system": "wiki", "method": "passwordless"}}}, http.StatusOK)
	})

	t.Run("an administrator's email, phone and status need a fresh sign-in", func(t *testing.T) {
		wantReauth(t, http.MethodPatch, "/v1/admin/users/ops", req{"email": "attacker@example.net"}, http.StatusOK)
		wantReauth(t, http.MethodPatch, "/v1/admin/users/ops", req{"phone": "+15555550100"}, http.StatusOK)
		wantReauth(t, http.MethodPatch, "/v1/admin/users/ops", req{"status": "disabled"}, http.StatusOK)
		// A disabled administrator is still one: enabling them again is as
		// sensitive.
		wantReauth(t, http.MethodPatch, "/v1/admin/users/ops", req{"status": "active"}, http.StatusOK)
		if u := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ops", nil, http.StatusOK); u.Email != "attacker@example.net" || u.Phone != "+15555550100" {
			t.Fatalf("ops after the fresh changes = %v", u)
		}
	})

	t.Run("an administrator's name, or values sent unchanged, need no fresh sign-in", func(t *testing.T) {
		wantStaleOK(t, http.MethodPatch, "/v1/admin/users/ops", req{"name": "Operations"}, http.StatusOK)
		// The console's edit form sends every field.
		wantStaleOK(t, http.MethodPatch, "/v1/admin/users/ops",
			req{"name": "Ops", "email": "attacker@example.net", "phone": "+15555550100", "status": "active"}, http.StatusOK)
	})

	t.Run("other users' contact data needs no fresh sign-in", func(t *testing.T) {
		wantStaleOK(t, http.MethodPatch, "/v1/admin/users/eve", req{"email": "eve@example.org", "status": "disabled"}, http.StatusOK)
	})

	t.Run("deleting an administrator needs a fresh sign-in", func(t *testing.T) {
		wantReauth(t, http.MethodDelete, "/v1/admin/users/audit", nil, http.StatusNoContent)
		wantStaleOK(t, http.MethodDelete, "/v1/admin/users/eve", nil, http.StatusNoContent)
	})

	t.Run("changing the console system needs a fresh sign-in", func(t *testing.T) {
		wantReauth(t, http.MethodPatch, "/v1/admin/systems/console", req{"sensitivity": "high"}, http.StatusOK)
		wantStaleOK(t, http.MethodPatch, "/v1/admin/systems/wiki", req{"sensitivity": "medium"}, http.StatusOK)
	})

	t.Run("moving and deleting an organisation need a fresh sign-in, creating and renaming do not", func(t *testing.T) {
		wantStaleOK(t, http.MethodPost, "/v1/admin/organisations", req{"id": "eu"}, http.StatusCreated)
		wantStaleOK(t, http.MethodPost, "/v1/admin/organisations", req{"id": "us"}, http.StatusCreated)
		wantStaleOK(t, http.MethodPatch, "/v1/admin/organisations/eu", req{"name": "Europe"}, http.StatusOK)
		wantReauth(t, http.MethodPatch, "/v1/admin/organisations/eu", req{"parent": "us"}, http.StatusOK)
		wantReauth(t, http.MethodDelete, "/v1/admin/organisations/eu", nil, http.StatusNoContent)
	})

	t.Run("API keys are not signed in and need no fresh sign-in", func(t *testing.T) {
		stale()
		defer fresh()
		h.Admin(http.MethodPut, "/v1/admin/users/mallory/systems", req{"assignments": []req{{"system": "console", "method": "passwordless"}}}, http.StatusOK)
		h.Admin(http.MethodPatch, "/v1/admin/users/mallory", req{"email": "m@example.org"}, http.StatusOK)
		h.Admin(http.MethodPatch, "/v1/admin/systems/console", req{"sensitivity": "medium"}, http.StatusOK)
		h.Admin(http.MethodPost, "/v1/admin/users/mallory/totp", nil, http.StatusOK)
	})
}

// TestActiveTOTPIsNeverOverwritten: whoever could replace an enrolled
// user's seed would hold their second factor. Enrolment is refused while
// TOTP is active, for API keys and fresh sessions alike; resetting
// two-factor first (audited, fresh) makes room for a new one.
func TestActiveTOTPIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "carol", "name": "Carol"}, http.StatusCreated)
	enrol := func() string {
		t.Helper()
		seed := adminAs[apitest.TOTPEnrolment](h, http.MethodPost, "/v1/admin/users/carol/totp", nil, http.StatusOK).Secret
		code, err := totp.GenerateCode(seed, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		h.Admin(http.MethodPost, "/v1/admin/users/carol/totp/verify", req{"code": code}, http.StatusOK)
		return seed
	}
	first := enrol()
	u, err := h.Store.GetUser(ctx, deploytest.Account, "carol")
	if err != nil {
		t.Fatal(err)
	}
	active := u.TOTPSecret

	wantError(t, h.Do(http.MethodPost, "/v1/admin/users/carol/totp", h.AdminKey, nil), http.StatusConflict, "reset two-factor first, then enrol")

	// A seed left pending from before the user enrolled cannot be verified
	// into place either.
	left := "JBSWY3DPEHPK3PXP"
	sealed, err := h.Keys.Seal([]byte(left), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Store.SetTOTPPending(ctx, u.ID, sealed, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(left, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, h.Do(http.MethodPost, "/v1/admin/users/carol/totp/verify", h.AdminKey, req{"code": code}), http.StatusConflict, "reset two-factor first, then enrol")

	if u, err = h.Store.GetUser(ctx, deploytest.Account, "carol"); err != nil {
		t.Fatal(err)
	}
	if !u.TOTPEnabled || !bytes.Equal(u.TOTPSecret, active) {
		t.Fatal("the active seed changed")
	}
	if seed, err := h.Keys.Open(u.TOTPSecret, u.ID); err != nil || string(seed) != first {
		t.Fatalf("active seed = %q (%v), want the one first enrolled", seed, err)
	}

	// Reset, then enrol: the new seed is active.
	h.Admin(http.MethodDelete, "/v1/admin/users/carol/totp", nil, http.StatusNoContent)
	second := enrol()
	if u, err = h.Store.GetUser(ctx, deploytest.Account, "carol"); err != nil {
		t.Fatal(err)
	}
	if seed, err := h.Keys.Open(u.TOTPSecret, u.ID); err != nil || string(seed) != second || second == first {
		t.Fatalf("active seed after reset and enrolment = %q (%v), want the new one", seed, err)
	}
	if types := h.AuditTypes("authid=carol"); len(types) == 0 || types[0] != "totp.enrolled" {
		t.Fatalf("audit = %v, want totp.enrolled last", types)
	}
}
