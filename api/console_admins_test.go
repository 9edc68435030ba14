package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestTheLastConsoleAdministratorStays: disabling, deleting or unassigning
// the account's only console administrator is refused; with a second one
// it goes ahead.
func TestTheLastConsoleAdministratorStays(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "console", "methods": []string{"passwordless"}}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin"}}, http.StatusCreated)
	for _, authid := range []string{"root", "ops"} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "email": authid + "@example.com"}, http.StatusCreated)
	}
	console := req{"assignments": []req{{"system": "console", "method": "passwordless"}}}
	h.Admin(http.MethodPut, "/v1/admin/users/root/systems", console, http.StatusOK)

	// An import that disables root is refused in its preview and on apply.
	file := []byte("authid,status,systems\nroot,disabled,console:passwordless\n")
	for _, apply := range []string{"false", "true"} {
		want := http.StatusOK
		if apply == "true" {
			want = http.StatusUnprocessableEntity
		}
		out := importFile(t, h, "format=csv&apply="+apply, "text/csv", file, want)
		rows, _ := out["rows"].([]any)
		if out["valid"] != false || len(rows) != 1 || !strings.Contains(fmt.Sprint(rows[0].(map[string]any)["errors"]), "console administrators") {
			t.Fatalf("import disabling the last administrator (apply=%s) = %v", apply, out)
		}
	}

	refused := []struct {
		name, method, path string
		body               any
	}{
		{"disable", http.MethodPatch, "/v1/admin/users/root", req{"status": "disabled"}},
		{"delete", http.MethodDelete, "/v1/admin/users/root", nil},
		{"unassign", http.MethodPut, "/v1/admin/users/root/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}},
	}
	for _, r := range refused {
		wantError(t, h.Do(r.method, r.path, h.adminKey, r.body), http.StatusConflict, "last console administrator")
	}
	if got := h.Admin(http.MethodGet, "/v1/admin/users/root", nil, http.StatusOK); got["status"] != "active" || len(got["assignments"].([]any)) != 1 {
		t.Fatalf("root after refused changes = %v", got)
	}
	// Other users and other changes are not concerned.
	h.Admin(http.MethodPatch, "/v1/admin/users/ops", req{"status": "disabled"}, http.StatusOK)
	h.Admin(http.MethodPatch, "/v1/admin/users/root", req{"name": "Root"}, http.StatusOK)
	// A disabled administrator does not count; an active second one does.
	h.Admin(http.MethodPut, "/v1/admin/users/ops/systems", console, http.StatusOK)
	wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/root", h.adminKey, req{"status": "disabled"}), http.StatusConflict, "last console administrator")
	h.Admin(http.MethodPatch, "/v1/admin/users/ops", req{"status": "active"}, http.StatusOK)
	h.Admin(http.MethodPut, "/v1/admin/users/root/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)
	h.Admin(http.MethodPut, "/v1/admin/users/root/systems", console, http.StatusOK)
	h.Admin(http.MethodDelete, "/v1/admin/users/root", nil, http.StatusNoContent)
	// ops is the last one now.
	wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/ops", h.adminKey, req{"status": "disabled"}), http.StatusConflict, "last console administrator")
}
