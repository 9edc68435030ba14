package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
)

const entraIssuer = "https://login.microsoftonline.com/4a5b6c7d-1111-4222-8333-944455556666/v2.0"

func TestAdministratorApprovesAnSSOIdentity(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "lee", "email": "lee@partner.example"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "kim", "email": "kim@partner.example"}, http.StatusCreated)

	if got := adminAs[apitest.SSOIdentity](h, http.MethodGet, "/v1/admin/users/lee/sso", nil, http.StatusOK); got.Bound || got.Subject != "" {
		t.Fatalf("lee before approval = %v", got)
	}
	approval := req{"issuer": entraIssuer, "subject": "8c2b4d1e-7a6f-4b3c-8d52-1c6e8fa02b02"}
	got := adminAs[apitest.SSOIdentity](h, http.MethodPut, "/v1/admin/users/lee/sso", approval, http.StatusOK)
	if !got.Bound || got.Issuer != entraIssuer || got.Subject != approval["subject"] {
		t.Fatalf("PUT = %v", got)
	}
	if u := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/lee", nil, http.StatusOK); !u.SSOBound {
		t.Fatalf("lee = %v, want sso_bound", u)
	}
	if got := adminAs[apitest.SSOIdentity](h, http.MethodGet, "/v1/admin/users/lee/sso", nil, http.StatusOK); got.Subject != approval["subject"] {
		t.Fatalf("GET after approval = %v", got)
	}
	if types := h.AuditTypes("authid=lee&type=sso.approved"); len(types) != 1 {
		t.Fatalf("sso.approved events = %v", types)
	}

	// One identity, one user.
	res := h.Do(http.MethodPut, "/v1/admin/users/kim/sso", h.AdminKey, approval)
	wantError(t, res, http.StatusConflict, "bound to another user")

	for name, body := range map[string]any{
		"no subject":    req{"issuer": entraIssuer},
		"not a URL":     req{"issuer": "login.microsoftonline.com", "subject": "x"},
		"control":       req{"issuer": entraIssuer, "subject": "x\x00y"},
		"too long":      req{"issuer": entraIssuer, "subject": strings.Repeat("x", 256)},
		"unknown field": req{"issuer": entraIssuer, "subject": "x", "email": "lee@partner.example"},
	} {
		if res := h.Do(http.MethodPut, "/v1/admin/users/kim/sso", h.AdminKey, body); res.Status != http.StatusBadRequest {
			t.Errorf("%s: PUT = %d %s, want 400", name, res.Status, res.Body)
		}
	}
	wantError(t, h.Do(http.MethodPut, "/v1/admin/users/nobody/sso", h.AdminKey, approval), http.StatusNotFound, "not found")

	// Unbound, the identity is free for kim.
	if res := h.Do(http.MethodDelete, "/v1/admin/users/lee/sso", h.AdminKey, nil); res.Status != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", res.Status, res.Body)
	}
	if res := h.Do(http.MethodDelete, "/v1/admin/users/lee/sso", h.AdminKey, nil); res.Status != http.StatusNoContent {
		t.Fatalf("second DELETE = %d %s", res.Status, res.Body)
	}
	if types := h.AuditTypes("authid=lee&type=sso.unbound"); len(types) != 1 {
		t.Fatalf("sso.unbound events = %v, want one", types)
	}
	h.Admin(http.MethodPut, "/v1/admin/users/kim/sso", approval, http.StatusOK)

	// A console session needs a fresh sign-in to bind or unbind, not to look.
	b := newBrowser(t, h)
	b.signIn("root")
	t.Cleanup(func() { h.skew.Store(0) })
	h.skew.Store(int64(11 * time.Minute))
	b.want(b.do(http.MethodGet, "/v1/admin/users/kim/sso", nil, false), http.StatusOK, "issuer", entraIssuer)
	for _, method := range []string{http.MethodPut, http.MethodDelete} {
		res := b.do(method, "/v1/admin/users/kim/sso", req{"issuer": entraIssuer, "subject": "someone-else"}, true)
		if res.Status != http.StatusForbidden || res.Body != `{"error":"fresh sign-in required","reauth":true}` {
			t.Fatalf("%s after 11 minutes = %d %s", method, res.Status, res.Body)
		}
	}
	if got := adminAs[apitest.SSOIdentity](h, http.MethodGet, "/v1/admin/users/kim/sso", nil, http.StatusOK); got.Subject != approval["subject"] {
		t.Fatalf("a stale session changed kim's identity: %v", got)
	}
	h.skew.Store(0)
	b = newBrowser(t, h)
	b.signIn("root")
	b.want(b.do(http.MethodPut, "/v1/admin/users/kim/sso", req{"issuer": entraIssuer, "subject": "someone-else"}, true), http.StatusOK, "subject", "someone-else")
	if types := h.AuditTypes("authid=kim&type=sso.approved"); len(types) != 2 {
		t.Fatalf("kim's sso.approved events = %v, want two", types)
	}
}
