package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
)

// TestMoveUser: an administrator moves a user to another organisation of
// its branch; assignments carry over to systems of the same name that
// enable the method, the console system never does; the move is audited
// in both organisations; anything outside the caller's branch is 404.
func TestMoveUser(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	const orgs = "/v1/admin/organisations"
	// acme ─┬─ eu ── paris
	//       └─ us
	for _, o := range []req{{"id": "eu"}, {"id": "us"}, {"id": "paris", "parent": "eu"}} {
		h.Admin(http.MethodPost, orgs, o, http.StatusCreated)
	}
	system := func(org, name string, methods ...string) {
		t.Helper()
		h.Admin(http.MethodPost, "/v1/admin/systems?organisation="+org, req{"name": name, "methods": methods}, http.StatusCreated)
	}
	system("acme", "vpn", "pin", "totp")
	system("acme", "wiki", "passwordless")
	system("acme", "console", "passwordless")
	system("eu", "vpn", "pin")
	system("eu", "console", "passwordless")
	system("eu", "wiki", "pin") // same name, not the same method
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ann", "name": "Ann", "email": "ann@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "root", "name": "Root"}, http.StatusCreated)
	console := req{"system": "console", "method": "passwordless"}
	h.Admin(http.MethodPut, "/v1/admin/users/root/systems", req{"assignments": []req{console}}, http.StatusOK)
	h.Admin(http.MethodPut, "/v1/admin/users/ann/systems", req{"assignments": []req{
		{"system": "vpn", "method": "pin"}, {"system": "wiki", "method": "passwordless"}, console,
	}}, http.StatusOK)

	t.Run("bad input is refused and moves nothing", func(t *testing.T) {
		cases := []struct {
			name   string
			path   string
			body   any
			status int
			error  string
		}{
			{"no organisation", "ann", req{}, http.StatusBadRequest, "organisation is required"},
			{"an unknown field", "ann", req{"organisation": "eu", "to": "eu"}, http.StatusBadRequest, `unknown field "to"`},
			{"an unknown organisation", "ann", req{"organisation": "nope"}, http.StatusNotFound, `organisation "nope" not found`},
			{"an unknown user", "nobody", req{"organisation": "eu"}, http.StatusNotFound, `user "nobody" not found`},
			{"the organisation it is in", "ann", req{"organisation": "acme"}, http.StatusConflict, "already"},
			{"a reason too long", "ann", req{"organisation": "eu", "reason": strings.Repeat("r", 501)}, http.StatusBadRequest, "reason"},
		}
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				wantError(t, h.Do(http.MethodPost, "/v1/admin/users/"+tt.path+"/move", h.AdminKey, tt.body), tt.status, tt.error)
			})
		}
		h.Admin(http.MethodGet, "/v1/admin/users/ann", nil, http.StatusOK)
	})

	t.Run("the user moves with the assignments the target can hold", func(t *testing.T) {
		got := adminAs[apitest.UserMoved](h, http.MethodPost, "/v1/admin/users/ann/move", req{"organisation": "eu", "reason": "joined the EU team"}, http.StatusOK)
		if got.Authid != "ann" || got.From != "acme" || got.Organisation != "eu" {
			t.Fatalf("move = %v", got)
		}
		if kept := got.Assignments; !slices.Equal(kept, []apitest.Assignment{{System: "vpn", Method: "pin"}}) {
			t.Fatalf("carried assignments = %s, want vpn:pin alone", kept)
		}
		if dropped := fmt.Sprint(got.DroppedAssignments); !strings.Contains(dropped, "wiki") || !strings.Contains(dropped, "console") {
			t.Fatalf("dropped assignments = %s, want wiki (method not enabled) and console (never carried)", dropped)
		}
		wantError(t, h.Do(http.MethodGet, "/v1/admin/users/ann", h.AdminKey, nil), http.StatusNotFound, "not found")
		moved := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ann?organisation=eu", nil, http.StatusOK)
		if moved.Email != "ann@example.com" || !slices.Equal(moved.Assignments, []apitest.Assignment{{System: "vpn", Method: "pin"}}) {
			t.Fatalf("ann in eu = %v", moved)
		}
		// ann's console assignment stayed behind: root is acme's last
		// console administrator now, and stays.
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/root/move", h.AdminKey, req{"organisation": "eu"}),
			http.StatusConflict, "last console administrator")
		for _, org := range []string{"acme", "eu"} {
			ev := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?organisation="+org+"&type=user.moved", nil, http.StatusOK)
			events := ev.Events
			if len(events) != 1 {
				t.Fatalf("%s's user.moved events = %v, want one", org, events)
			}
			detail := events[0].Detail
			if detail["from"] != "acme" || detail["to"] != "eu" || detail["reason"] != "joined the EU team" || !strings.HasPrefix(fmt.Sprint(detail["actor"]), "key:") {
				t.Fatalf("%s's user.moved detail = %v", org, detail)
			}
		}
	})

	t.Run("an administrator scoped to a descendant moves within its own branch", func(t *testing.T) {
		// acme's key acting on eu moves ann to us, eu's sibling: both are acme's.
		h.Admin(http.MethodPost, "/v1/admin/users/ann/move?organisation=eu", req{"organisation": "us"}, http.StatusOK)
		h.Admin(http.MethodGet, "/v1/admin/users/ann?organisation=us", nil, http.StatusOK)
		h.Admin(http.MethodPost, "/v1/admin/users/ann/move?organisation=us", req{"organisation": "paris"}, http.StatusOK)
	})

	t.Run("a child's administrator cannot move outside its branch", func(t *testing.T) {
		eu := h.keyOf("eu")
		for _, to := range []string{"acme", "us", "nope"} {
			wantError(t, h.Do(http.MethodPost, "/v1/admin/users/ann/move?organisation=paris", eu, req{"organisation": to}),
				http.StatusNotFound, fmt.Sprintf("organisation %q not found", to))
		}
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "bob"}, http.StatusCreated)
		// acme's user is not eu's to move, even into eu.
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/bob/move", eu, req{"organisation": "paris"}), http.StatusNotFound, `user "bob" not found`)
		res := h.Do(http.MethodPost, "/v1/admin/users/ann/move?organisation=paris", eu, req{"organisation": "eu"})
		if res.Status != http.StatusOK || apitest.Decode[apitest.UserMoved](t, res).Organisation != "eu" {
			t.Fatalf("eu's move of ann = %d %s", res.Status, res.Body)
		}
	})

	t.Run("an authid taken in the target moves nothing", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/users?organisation=us", req{"authid": "ann", "name": "Another Ann"}, http.StatusCreated)
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/ann/move?organisation=eu", h.AdminKey, req{"organisation": "us"}),
			http.StatusConflict, `has a user "ann" already`)
		still := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ann?organisation=eu", nil, http.StatusOK)
		if still.Name != "Ann" {
			t.Fatalf("ann in eu after the refused move = %v", still)
		}
	})
}
