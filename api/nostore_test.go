package api_test

import (
	"net/http"
	"testing"
)

// TestAdminAnswersAreNeverCached: every admin API answer carries personal
// data, a secret shown once or a session token, or says something about
// them; none may stay in a browser's or a proxy's cache. Errors, the
// session routes and the exports included.
func TestAdminAnswersAreNeverCached(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "alice", "email": "alice@example.com"}, http.StatusCreated)
	tests := []struct {
		name         string
		method, path string
		key          string
		body         any
		status       int
	}{
		{"a user", http.MethodGet, "/v1/admin/users/alice", h.AdminKey, nil, http.StatusOK},
		{"the user list", http.MethodGet, "/v1/admin/users", h.AdminKey, nil, http.StatusOK},
		{"the audit export", http.MethodGet, "/v1/admin/audit?format=csv", h.AdminKey, nil, http.StatusOK},
		{"the user export", http.MethodGet, "/v1/admin/export/users?format=csv", h.AdminKey, nil, http.StatusOK},
		{"a change", http.MethodPatch, "/v1/admin/users/alice", h.AdminKey, req{"name": "Alice"}, http.StatusOK},
		{"an unknown user", http.MethodGet, "/v1/admin/users/nobody", h.AdminKey, nil, http.StatusNotFound},
		{"an invalid body", http.MethodPost, "/v1/admin/users", h.AdminKey, req{"authid": 7}, http.StatusBadRequest},
		{"no key", http.MethodGet, "/v1/admin/users", "", nil, http.StatusUnauthorized},
		{"an app key", http.MethodGet, "/v1/admin/users", h.AppKey, nil, http.StatusForbidden},
		{"an unknown admin route", http.MethodGet, "/v1/admin/no-such-thing", h.AdminKey, nil, http.StatusNotFound},
		{"a method the route lacks", http.MethodPut, "/v1/admin/session", "", nil, http.StatusMethodNotAllowed},
		{"the session, signed out", http.MethodGet, "/v1/admin/session", "", nil, http.StatusUnauthorized},
		{"a sign-in check without a sign-in", http.MethodPost, "/v1/admin/session/check", "", nil, http.StatusForbidden},
		{"a malformed sign-in", http.MethodPost, "/v1/admin/session", "", `{"account":`, http.StatusBadRequest},
		{"the dev outbox outside dev", http.MethodGet, "/v1/admin/dev/outbox", "", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.Do(tt.method, tt.path, tt.key, tt.body)
			if res.Status != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, res.Status, res.Body, tt.status)
			}
			if got := res.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
				t.Fatalf("%s %s: Cache-Control = %q, want no-store", tt.method, tt.path, got)
			}
		})
	}
}
