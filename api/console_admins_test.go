package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/pgtest"
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
		rows := out.Rows
		if out.Valid || len(rows) != 1 || !strings.Contains(fmt.Sprint(rows[0].Errors), "console administrators") {
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
		wantError(t, h.Do(r.method, r.path, h.AdminKey, r.body), http.StatusConflict, "last console administrator")
	}
	if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/root", nil, http.StatusOK); got.Status != "active" || len(got.Assignments) != 1 {
		t.Fatalf("root after refused changes = %v", got)
	}
	// Other users and other changes are not concerned.
	h.Admin(http.MethodPatch, "/v1/admin/users/ops", req{"status": "disabled"}, http.StatusOK)
	h.Admin(http.MethodPatch, "/v1/admin/users/root", req{"name": "Root"}, http.StatusOK)
	// A disabled administrator does not count; an active second one does.
	h.Admin(http.MethodPut, "/v1/admin/users/ops/systems", console, http.StatusOK)
	wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/root", h.AdminKey, req{"status": "disabled"}), http.StatusConflict, "last console administrator")
	h.Admin(http.MethodPatch, "/v1/admin/users/ops", req{"status": "active"}, http.StatusOK)
	h.Admin(http.MethodPut, "/v1/admin/users/root/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)
	h.Admin(http.MethodPut, "/v1/admin/users/root/systems", console, http.StatusOK)
	h.Admin(http.MethodDelete, "/v1/admin/users/root", nil, http.StatusNoContent)
	// ops is the last one now.
	wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/ops", h.AdminKey, req{"status": "disabled"}), http.StatusConflict, "last console administrator")
}

// TestAdministratorsRemovingEachOtherAtOnceLeaveOne: on PostgreSQL, two
// requests each deleting the other console administrator at the same
// moment, round after round: exactly one is answered 204 and the other the
// same 409 as a refused change, and the account always keeps an
// administrator. Before the store kept the rule inside the transaction,
// both checks could pass and both deletes go through.
func TestAdministratorsRemovingEachOtherAtOnceLeaveOne(t *testing.T) {
	t.Parallel()
	cluster, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Stop)
	h := newHarnessWith(t, harnessOptions{adminOnly: true, database: cluster.NewDatabase(t)})
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "console", "methods": []string{"passwordless"}}, http.StatusCreated)
	console := req{"assignments": []req{{"system": "console", "method": "passwordless"}}}
	addAdmin := func(authid string) {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "email": authid + "@example.com"}, http.StatusCreated)
		h.Admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", console, http.StatusOK)
	}
	survivor := "root"
	addAdmin(survivor)
	for round := range 8 {
		other := fmt.Sprintf("ops%d", round)
		addAdmin(other)
		pair := [2]string{survivor, other}
		var (
			start = make(chan struct{})
			wg    sync.WaitGroup
			got   [2]apitest.Response
		)
		for i := range pair {
			wg.Go(func() {
				<-start
				got[i] = h.Do(http.MethodDelete, "/v1/admin/users/"+pair[1-i], h.AdminKey, nil)
			})
		}
		close(start)
		wg.Wait()
		deleted := -1
		for i, res := range got {
			switch res.Status {
			case http.StatusNoContent:
				if deleted >= 0 {
					t.Fatalf("round %d: both administrators were deleted", round)
				}
				deleted = 1 - i
			case http.StatusConflict:
				wantError(t, res, http.StatusConflict, pair[1-i]+" is the account's last console administrator")
			default:
				t.Fatalf("round %d: delete %s = %d %s", round, pair[1-i], res.Status, res.Body)
			}
		}
		if deleted < 0 {
			t.Fatalf("round %d: neither administrator was deleted: %d, %d", round, got[0].Status, got[1].Status)
		}
		survivor = pair[1-deleted]
		h.Admin(http.MethodGet, "/v1/admin/users/"+survivor, nil, http.StatusOK)
	}
}
