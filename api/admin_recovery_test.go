package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
)

func TestRecoveryCodesAndTwoFactorReset(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("payroll", []string{"totp"}, "high", "carol", "totp")

	enrol := adminAs[apitest.TOTPEnrolment](h, http.MethodPost, "/v1/admin/users/carol/totp", nil, http.StatusOK)
	png := enrol.QrPng
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(png, "data:image/png;base64,"))
	if !strings.HasPrefix(png, "data:image/png;base64,") || err != nil || !strings.HasPrefix(string(raw), "\x89PNG") {
		t.Fatalf("qr_png = %.60q (%v): want a PNG data URL", png, err)
	}
	code, err := totp.GenerateCode(enrol.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.Admin(http.MethodPost, "/v1/admin/users/carol/totp/verify", req{"code": code}, http.StatusOK)

	out := adminAs[apitest.RecoveryCodes](h, http.MethodPost, "/v1/admin/users/carol/recovery-codes", nil, http.StatusOK)
	codes := out.Codes
	if len(codes) != 10 {
		t.Fatalf("recovery codes = %v, want 10", out)
	}
	first := codes[0]
	if len(first) != 17 || first[5] != '-' || first[11] != '-' {
		t.Fatalf("code %q is not XXXXX-XXXXX-XXXXX (75 bits)", first)
	}
	// Stored as keyed digests only: nothing in the store opens back to a code.
	user, err := h.Store.GetUser(context.Background(), deploytest.Account, "carol")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.Store.UnusedRecoveryCodes(context.Background(), user.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range stored {
		canonical := strings.ReplaceAll(first, "-", "")
		if c.Sealed != nil || len(c.Digest) < 40 || strings.Contains(c.Digest, canonical) {
			t.Fatalf("stored recovery code %+v: want a keyed digest and nothing sealed", c)
		}
	}
	if u := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/carol", nil, http.StatusOK); u.RecoveryCodesLeft != 10 || u.SSOBound {
		t.Fatalf("user = %v", u)
	}

	// Typed in lower case with a space for the dash: still the code.
	typed := strings.ToLower(strings.Replace(first, "-", " ", 1))
	// A wrong recovery code counts against recovery codes, not TOTP.
	h.Start("payroll", "carol")
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": "AAAAA-BBBBB-CCCCC"}, http.StatusForbidden, "security error")
	if u := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/carol", nil, http.StatusOK); len(u.Lockouts) == 0 ||
		u.Lockouts[0].Factor != "recovery" {
		t.Fatalf("lockouts after a wrong recovery code = %v", u.Lockouts)
	}
	h.Start("payroll", "carol")
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": typed}, http.StatusOK, "authenticated")
	if types := h.AuditTypes("authid=carol&type=" + attempt.EventRecoveryCodeUsed); len(types) != 1 {
		t.Fatalf("recovery_code.used events = %v, want one", types)
	}
	if u := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/carol", nil, http.StatusOK); u.RecoveryCodesLeft != 9 {
		t.Fatalf("codes left after one use = %v", u.RecoveryCodesLeft)
	}

	// Each code works once.
	h.Start("payroll", "carol")
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": first}, http.StatusForbidden, "security error")
	// Not a code at all: a clear 400, not a wrong guess.
	res := h.App("/v1/check", req{"system": "payroll", "authid": "carol", "pin": "not-a-code!"})
	if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "recovery code") {
		t.Fatalf("check with garbage = %d %s", res.Status, res.Body)
	}

	t.Run("the user's attempts and sign-ins by method", func(t *testing.T) {
		out := adminAs[apitest.UserAttempts](h, http.MethodGet, "/v1/admin/users/carol/attempts?limit=5", nil, http.StatusOK)
		atts := out.Attempts
		if len(atts) != 3 || atts[0].State != "pending" || atts[1].State != "authenticated" ||
			atts[2].State != "cancelled" {
			t.Fatalf("attempts = %v", atts)
		}
		by := out.ByMethod
		if len(by) != 1 || by[0].Method != "totp" || by[0].Logins != 1 ||
			by[0].LastLoginAt == nil {
			t.Fatalf("by_method = %v", by)
		}
		wantError(t, h.Do(http.MethodGet, "/v1/admin/users/carol/attempts?limit=0", h.AdminKey, nil), http.StatusBadRequest, "limit")
		wantError(t, h.Do(http.MethodGet, "/v1/admin/users/nobody/attempts", h.AdminKey, nil), http.StatusNotFound, "not found")
	})

	t.Run("resetting two-factor removes the seed and the codes", func(t *testing.T) {
		if res := h.Do(http.MethodDelete, "/v1/admin/users/carol/totp", h.AdminKey, nil); res.Status != http.StatusNoContent {
			t.Fatalf("reset = %d %s", res.Status, res.Body)
		}
		u := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/carol", nil, http.StatusOK)
		if u.TOTPEnabled || u.RecoveryCodesLeft != 0 {
			t.Fatalf("user after reset = %v", u)
		}
		if types := h.AuditTypes("authid=carol&type=totp.reset"); len(types) != 1 {
			t.Fatalf("totp.reset events = %v", types)
		}
		// Without a seed the policy has no TOTP to ask for: the user enrols again.
		h.Expect("/v1/start", req{"system": "payroll", "authid": "carol"}, http.StatusForbidden, "security error")
		wantError(t, h.Do(http.MethodDelete, "/v1/admin/users/nobody/totp", h.AdminKey, nil), http.StatusNotFound, "not found")
	})
}
