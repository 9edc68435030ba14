package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// keyOf makes an admin key of the organisation id.
func (h *harness) keyOf(id string) string {
	h.t.Helper()
	key, err := secret.NewAPIKey(secret.AdminKeyPrefix)
	if err != nil {
		h.t.Fatal(err)
	}
	err = h.Store.CreateAPIKey(context.Background(), &store.APIKey{
		ID: uuid.NewString(), AccountID: id, Name: "admin key of " + id, Scope: store.ScopeAdmin,
		Hash: secret.HashAPIKey(key), CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return key
}

func TestOrganisations(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	const orgs = "/v1/admin/organisations"

	// acme ─┬─ eu ── paris
	//       └─ us
	created := adminAs[apitest.Organisation](h, http.MethodPost, orgs, req{"id": "eu", "name": "Europe", "reason": "new region"}, http.StatusCreated)
	if created.ID != "eu" || created.Name != "Europe" || created.Parent != "acme" || created.Users != 0 {
		t.Fatalf("created = %v", created)
	}
	h.Admin(http.MethodPost, orgs, req{"id": "us"}, http.StatusCreated)
	h.Admin(http.MethodPost, orgs, req{"id": "paris", "name": "Paris", "parent": "eu"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users?organisation=paris", req{"authid": "ann", "name": "Ann"}, http.StatusCreated)

	t.Run("the branch is a tree with user counts", func(t *testing.T) {
		got := adminAs[apitest.Organisations](h, http.MethodGet, orgs, nil, http.StatusOK)
		top := got.Organisations
		if len(top) != 1 {
			t.Fatalf("organisations = %v, want the caller's alone at the top", got)
		}
		root := top[0]
		kids := root.Children
		if root.ID != "acme" || len(kids) != 2 {
			t.Fatalf("root = %v", root)
		}
		eu := kids[0]
		paris := eu.Children[0]
		if eu.ID != "eu" || paris.ID != "paris" || paris.Users != 1 || paris.Parent != "eu" {
			t.Fatalf("eu = %v", eu)
		}
		// A child's administrator sees its branch only.
		got = apitest.Decode[apitest.Organisations](t, h.Do(http.MethodGet, orgs, h.keyOf("eu"), nil))
		if root := got.Organisations[0]; root.ID != "eu" || len(root.Children) != 1 {
			t.Fatalf("eu's branch = %v", got)
		}
	})

	t.Run("bad input is refused", func(t *testing.T) {
		cases := []struct {
			name   string
			body   any
			status int
			error  string
		}{
			{"a missing id", req{"name": "x"}, http.StatusBadRequest, "id is required"},
			{"an id with a space", req{"id": "a b"}, http.StatusBadRequest, "may hold only"},
			{"an id over 100 characters", req{"id": strings.Repeat("i", 101)}, http.StatusBadRequest, "at most 100"},
			{"an unknown field", req{"id": "x", "colour": "red"}, http.StatusBadRequest, `unknown field "colour"`},
			{"an id in use", req{"id": "paris"}, http.StatusConflict, `organisation "paris" already exists`},
			{"a top organisation's id", req{"id": "acme"}, http.StatusConflict, "already exists"},
			{"an unknown parent", req{"id": "x", "parent": "nope"}, http.StatusNotFound, `organisation "nope" not found`},
		}
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				wantError(t, h.Do(http.MethodPost, orgs, h.AdminKey, tt.body), tt.status, tt.error)
			})
		}
		wantError(t, h.Do(http.MethodPatch, orgs+"/eu", h.AdminKey, req{}), http.StatusBadRequest, "send name, parent or both")
	})

	t.Run("rename and move within the branch, cycles refused", func(t *testing.T) {
		got := adminAs[apitest.Organisation](h, http.MethodPatch, orgs+"/paris", req{"name": "Paris FR", "parent": "us", "reason": "reorganised"}, http.StatusOK)
		if got.Name != "Paris FR" || got.Parent != "us" {
			t.Fatalf("patched = %v", got)
		}
		wantError(t, h.Do(http.MethodPatch, orgs+"/us", h.AdminKey, req{"parent": "paris"}), http.StatusConflict, "cannot move under")
		wantError(t, h.Do(http.MethodPatch, orgs+"/acme", h.AdminKey, req{"parent": "eu"}), http.StatusConflict, "cannot move under")
		// A rename sent with a refused move is not applied either.
		wantError(t, h.Do(http.MethodPatch, orgs+"/us", h.AdminKey, req{"name": "United States", "parent": "paris"}), http.StatusConflict, "cannot move under")
		if got := adminAs[apitest.Organisations](h, http.MethodGet, orgs, nil, http.StatusOK); strings.Contains(fmt.Sprint(got), "United States") {
			t.Fatalf("the rename of a refused move was applied: %v", got)
		}
		types := h.AuditTypes("organisation=paris")
		if !containsAll(types, "organisation.created", "organisation.updated", "organisation.moved") {
			t.Fatalf("paris's audit = %v", types)
		}
		ev := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?organisation=paris&type=organisation.moved", nil, http.StatusOK)
		detail := ev.Events[0].Detail
		if detail["reason"] != "reorganised" || !strings.HasPrefix(detail["actor"].(string), "key:") {
			t.Fatalf("move event detail = %v", detail)
		}
	})

	t.Run("delete is refused while it has users or children", func(t *testing.T) {
		wantError(t, h.Do(http.MethodDelete, orgs+"/us", h.AdminKey, nil), http.StatusConflict, "still has users or sub-organisations")
		wantError(t, h.Do(http.MethodDelete, orgs+"/paris", h.AdminKey, nil), http.StatusConflict, "still has users or sub-organisations")
		wantError(t, h.Do(http.MethodDelete, orgs+"/acme", h.AdminKey, nil), http.StatusConflict, "cannot delete itself")
		h.Admin(http.MethodPost, orgs, req{"id": "tmp", "parent": "eu"}, http.StatusCreated)
		h.Admin(http.MethodDelete, orgs+"/tmp?reason=mistake", nil, http.StatusNoContent)
		if !containsAll(h.AuditTypes("organisation=eu"), "organisation.deleted") {
			t.Fatal("the deletion is not in the parent's audit trail")
		}
	})

	t.Run("outside the caller's branch is not found, like what does not exist", func(t *testing.T) {
		eu := h.keyOf("eu")
		for _, id := range []string{"acme", "us", "paris", "nope"} {
			want := `organisation "` + id + `" not found`
			wantError(t, h.Do(http.MethodPatch, orgs+"/"+id, eu, req{"name": "x"}), http.StatusNotFound, want)
			wantError(t, h.Do(http.MethodDelete, orgs+"/"+id, eu, nil), http.StatusNotFound, want)
		}
		wantError(t, h.Do(http.MethodPost, orgs, eu, req{"id": "x", "parent": "us"}), http.StatusNotFound, `organisation "us" not found`)
		h.Admin(http.MethodPost, orgs, req{"id": "lyon", "parent": "eu"}, http.StatusCreated)
		wantError(t, h.Do(http.MethodPatch, orgs+"/lyon", eu, req{"parent": "us"}), http.StatusNotFound, `organisation "us" not found`)
	})
}

// TestOrganisationScopeOnEveryAdminRoute walks every route of the admin
// API: a child's or a sibling's administrator naming the parent (or the
// other sibling) gets the same 404 as for an unknown organisation, on
// every route, before anything is read or changed.
func TestOrganisationScopeOnEveryAdminRoute(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	for _, id := range []string{"child", "sibling"} {
		h.Admin(http.MethodPost, "/v1/admin/organisations", req{"id": id}, http.StatusCreated)
	}
	child, sibling := h.keyOf("child"), h.keyOf("sibling")
	// The console's session routes and the dev outbox are outside the
	// admin group: they act on no organisation.
	outside := map[string]bool{"/v1/admin/session": true, "/v1/admin/session/check": true, "/v1/admin/dev/outbox": true}
	param := regexp.MustCompile(`:[A-Za-z_]+|\*[A-Za-z_]+`)
	walked := 0
	for _, r := range api.Routes(h.API) {
		if !strings.HasPrefix(r.Path, "/v1/admin/") || outside[r.Path] {
			continue
		}
		path := param.ReplaceAllString(r.Path, "x")
		for _, c := range []struct{ who, key, target string }{
			{"child", child, "acme"}, {"child", child, "sibling"}, {"sibling", sibling, "child"},
			{"sibling", sibling, "acme"}, {"child", child, "nope"},
		} {
			res := h.Do(r.Method, path+"?organisation="+c.target, c.key, req{})
			want := `{"error":"organisation \"` + c.target + `\" not found"}`
			if res.Status != http.StatusNotFound || res.Body != want {
				t.Errorf("%s %s as %s on %s = %d %s, want 404 %s", r.Method, path, c.who, c.target, res.Status, res.Body, want)
			}
		}
		walked++
	}
	if walked < 40 {
		t.Fatalf("walked %d admin routes, expected them all (40 or more)", walked)
	}

	t.Run("the parent's administrator acts on the child as on its own", func(t *testing.T) {
		sys := adminAs[apitest.System](h, http.MethodPost, "/v1/admin/systems?organisation=child", req{"name": "vpn", "methods": []string{"pin"}}, http.StatusCreated)
		if sys.Name != "vpn" {
			t.Fatalf("system = %v", sys)
		}
		// The system is the child's, not the parent's.
		if got := apitest.Decode[apitest.Systems](t, h.Do(http.MethodGet, "/v1/admin/systems", child, nil)); len(got.Systems) != 1 {
			t.Fatalf("the child's systems = %v", got)
		}
		if got := adminAs[apitest.Systems](h, http.MethodGet, "/v1/admin/systems", nil, http.StatusOK); len(got.Systems) != 0 {
			t.Fatalf("the parent's systems = %v", got)
		}
		if acc := adminAs[apitest.Account](h, http.MethodGet, "/v1/admin/account?organisation=child", nil, http.StatusOK); acc.ID != "child" || acc.Parent != "acme" {
			t.Fatalf("account = %v", acc)
		}
		for _, path := range []string{"/v1/admin/users", "/v1/admin/systems/vpn", "/v1/admin/audit", "/v1/admin/keys",
			"/v1/admin/policy", "/v1/admin/stats", "/v1/admin/organisations"} {
			h.Admin(http.MethodGet, path+"?organisation=child", nil, http.StatusOK)
		}
		if res := h.Do(http.MethodGet, "/v1/admin/export/users?organisation=child", h.AdminKey, nil); res.Status != http.StatusOK {
			t.Fatalf("export = %d %s", res.Status, res.Body)
		}
		// Audited in the child, naming the parent's administrator.
		ev := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?type=system.created", nil, http.StatusOK)
		if n := len(ev.Events); n != 0 {
			t.Fatalf("the parent's audit holds %d system.created events, want none", n)
		}
		ev = apitest.Decode[apitest.AuditEvents](t, h.Do(http.MethodGet, "/v1/admin/audit?type=system.created", child, nil))
		detail := ev.Events[0].Detail
		if detail["actor_organisation"] != "acme" {
			t.Fatalf("detail = %v, want actor_organisation acme", detail)
		}
	})
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// TestDeletedOrganisationIDIsNeverUsedAgain: a deleted organisation's
// audit trail, stats and attempts stay keyed by its id. Whoever created an
// organisation of that id again, the owner or another tenant, would read
// them as their own: the id is refused exactly as one in use, and what it
// left stays out of everyone's reach.
func TestDeletedOrganisationIDIsNeverUsedAgain(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	ctx := context.Background()
	const orgs = "/v1/admin/organisations"
	h.Admin(http.MethodPost, orgs, req{"id": "acme-eu"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users?organisation=acme-eu", req{"authid": "ada", "name": "Ada"}, http.StatusCreated)
	h.Admin(http.MethodDelete, "/v1/admin/users/ada?organisation=acme-eu", nil, http.StatusNoContent)
	h.Admin(http.MethodDelete, orgs+"/acme-eu?reason=closed", nil, http.StatusNoContent)
	trail, err := h.Store.ListAudit(ctx, store.AuditFilter{AccountID: "acme-eu"})
	if err != nil || len(trail) < 3 {
		t.Fatalf("acme-eu's trail after its deletion = %v, %v; want its events kept", trail, err)
	}

	// globex is another tenant: a top organisation of its own.
	if err := h.Store.CreateAccount(ctx, &store.Account{ID: "globex", Name: "Globex", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	tenants := []struct{ name, key string }{{"acme, which deleted it", h.AdminKey}, {"globex", h.keyOf("globex")}}
	for _, tenant := range tenants {
		t.Run(tenant.name, func(t *testing.T) {
			inUse := h.Do(http.MethodPost, orgs, tenant.key, req{"id": "acme"})
			again := h.Do(http.MethodPost, orgs, tenant.key, req{"id": "acme-eu", "name": "Acme EU"})
			wantError(t, again, http.StatusConflict, `organisation "acme-eu" already exists`)
			if want := strings.ReplaceAll(inUse.Body, `\"acme\"`, `\"acme-eu\"`); inUse.Status != again.Status || again.Body != want {
				t.Errorf("answer for the deleted id = %d %s, for an id in use %d %s: want the same", again.Status, again.Body, inUse.Status, inUse.Body)
			}
			for _, path := range []string{"/v1/admin/audit", "/v1/admin/stats", "/v1/admin/users/ada/attempts", "/v1/admin/organisations"} {
				wantError(t, h.Do(http.MethodGet, path+"?organisation=acme-eu", tenant.key, nil), http.StatusNotFound, `organisation "acme-eu" not found`)
			}
		})
	}
	if _, err := h.Store.GetAccount(ctx, "acme-eu"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme-eu after the refused creations: err = %v, want it still deleted", err)
	}
	// Ids never used are free as before.
	h.Admin(http.MethodPost, orgs, req{"id": "acme-us"}, http.StatusCreated)
}
