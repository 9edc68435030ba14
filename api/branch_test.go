package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/store"
)

// TestBranchViews covers ?branch= on the users list, the audit trail (JSON
// and CSV) and the dashboard: the scoped organisation alone by default,
// its whole branch with true, and never more than the caller's branch.
func TestBranchViews(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	ctx := context.Background()
	const orgs = "/v1/admin/organisations"

	// acme ─┬─ eu ── paris
	//       └─ us
	h.Admin(http.MethodPost, orgs, req{"id": "eu"}, http.StatusCreated)
	h.Admin(http.MethodPost, orgs, req{"id": "us"}, http.StatusCreated)
	h.Admin(http.MethodPost, orgs, req{"id": "paris", "parent": "eu"}, http.StatusCreated)
	// A user "sam" in every organisation, and a system "vpn" in paris and
	// us with an attempt each.
	now := time.Now().UTC()
	for _, org := range []string{"acme", "eu", "paris", "us"} {
		u := adminAs[apitest.User](h, http.MethodPost, "/v1/admin/users?organisation="+org, req{"authid": "sam", "name": "Sam of " + org}, http.StatusCreated)
		if u.Organisation != org {
			t.Fatalf("created user's organisation = %v, want %s", u.Organisation, org)
		}
	}
	for _, org := range []string{"paris", "us"} {
		h.Admin(http.MethodPost, "/v1/admin/systems?organisation="+org, req{"name": "vpn", "methods": []string{"pin"}, "sensitivity": "low"}, http.StatusCreated)
		a := store.Attempt{ID: "att-" + org, AccountID: org, System: "vpn", AuthID: "sam", WorkflowID: "wf-" + org, RunID: "run",
			State: store.AttemptPending, Method: "pin", StartedAt: now, UpdatedAt: now}
		if _, err := h.Store.InsertAttempt(ctx, &a); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.AppendAudit(ctx, store.AuditEvent{AccountID: org, Time: now, Type: "attempt.denied", System: "vpn", AuthID: "sam"}); err != nil {
			t.Fatal(err)
		}
	}
	eu := h.keyOf("eu")

	usersOf := func(key, query string) ([]string, int) {
		t.Helper()
		res := h.Do(http.MethodGet, "/v1/admin/users"+query, key, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("GET /v1/admin/users%s = %d %s", query, res.Status, res.Body)
		}
		got := apitest.Decode[apitest.Users](t, res)
		var out []string
		for _, u := range got.Users {
			out = append(out, u.Authid+"@"+u.Organisation)
		}
		return out, got.Total
	}
	auditOrgs := func(key, query string) []string {
		t.Helper()
		res := h.Do(http.MethodGet, "/v1/admin/audit"+query, key, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("GET /v1/admin/audit%s = %d %s", query, res.Status, res.Body)
		}
		var out []string
		for _, e := range apitest.Decode[apitest.AuditEvents](t, res).Events {
			org := e.Organisation
			if !slices.Contains(out, org) {
				out = append(out, org)
			}
		}
		slices.Sort(out)
		return out
	}

	t.Run("users: one organisation, or the branch by authid then organisation", func(t *testing.T) {
		cases := []struct {
			name, key, query string
			want             []string
		}{
			{"own organisation by default", h.AdminKey, "", []string{"sam@acme"}},
			{"branch=false is the default", h.AdminKey, "?branch=false", []string{"sam@acme"}},
			{"the whole branch", h.AdminKey, "?branch=true", []string{"sam@acme", "sam@eu", "sam@paris", "sam@us"}},
			{"the branch below ?organisation=", h.AdminKey, "?organisation=eu&branch=true", []string{"sam@eu", "sam@paris"}},
			{"a child's administrator never sees the parent or a sibling", eu, "?branch=true", []string{"sam@eu", "sam@paris"}},
			{"a search across the branch", h.AdminKey, "?branch=true&q=paris", []string{"sam@paris"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, total := usersOf(c.key, c.query)
				if !slices.Equal(got, c.want) || total != len(c.want) {
					t.Fatalf("users = %v (total %v), want %v", got, total, c.want)
				}
			})
		}
		u := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/sam?organisation=paris", nil, http.StatusOK)
		if u.Organisation != "paris" {
			t.Fatalf("user's organisation = %v, want paris", u.Organisation)
		}
		u = adminAs[apitest.User](h, http.MethodPatch, "/v1/admin/users/sam?organisation=paris", req{"name": "Sam P"}, http.StatusOK)
		if u.Organisation != "paris" {
			t.Fatalf("updated user's organisation = %v, want paris", u.Organisation)
		}
	})

	t.Run("audit: one organisation, or the branch, in JSON and CSV", func(t *testing.T) {
		if got := auditOrgs(h.AdminKey, ""); !slices.Equal(got, []string{"acme"}) {
			t.Fatalf("audit covers %v, want acme alone", got)
		}
		if got := auditOrgs(h.AdminKey, "?branch=true"); !slices.Equal(got, []string{"acme", "eu", "paris", "us"}) {
			t.Fatalf("branch audit covers %v", got)
		}
		if got := auditOrgs(eu, "?branch=true"); !slices.Equal(got, []string{"eu", "paris"}) {
			t.Fatalf("eu's branch audit covers %v, want eu and paris alone", got)
		}
		if got := auditOrgs(eu, "?branch=false&organisation=paris"); !slices.Equal(got, []string{"paris"}) {
			t.Fatalf("eu's audit of paris covers %v", got)
		}
		res := h.Do(http.MethodGet, "/v1/admin/audit?format=csv&branch=true&type=attempt.denied", eu, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("csv = %d %s", res.Status, res.Body)
		}
		rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header := rows[0]
		if header[len(header)-1] != "organisation" {
			t.Fatalf("csv header = %v, want organisation last", header)
		}
		if len(rows) != 2 || rows[1][len(header)-1] != "paris" {
			t.Fatalf("csv rows = %v, want paris's one denial", rows)
		}
	})

	t.Run("stats: one organisation, or the branch, systems named across it", func(t *testing.T) {
		started := func(key, query string, want int) {
			t.Helper()
			res := h.Do(http.MethodGet, "/v1/admin/stats?days=1"+query, key, nil)
			if res.Status != http.StatusOK {
				t.Fatalf("stats%s = %d %s", query, res.Status, res.Body)
			}
			got := apitest.Decode[apitest.Stats](t, res)
			if n := got.Totals.Started; n != want {
				t.Fatalf("stats%s started = %v, want %d", query, n, want)
			}
			if n := len(got.RecentFailures); n != want {
				t.Fatalf("stats%s recent failures = %d, want %d", query, n, want)
			}
		}
		started(h.AdminKey, "", 0)
		started(h.AdminKey, "&branch=true", 2)
		started(h.AdminKey, "&branch=true&system=vpn", 2)
		started(h.AdminKey, "&branch=true&system=!vpn", 0)
		started(eu, "&branch=true&system=vpn", 1)
		started(eu, "&organisation=paris&system=vpn", 1)
		// The name must be a system of the branch: vpn is not acme's own,
		// and us's is outside eu's branch.
		wantError(t, h.Do(http.MethodGet, "/v1/admin/stats?system=vpn", h.AdminKey, nil), http.StatusNotFound, `system "vpn" not found`)
		started(h.AdminKey, "&branch=true&system=vpn&organisation=eu", 1)
		wantError(t, h.Do(http.MethodGet, "/v1/admin/stats?branch=true&system=crm", h.AdminKey, nil), http.StatusNotFound, `system "crm" not found`)
	})

	t.Run("branch must be true or false", func(t *testing.T) {
		for _, path := range []string{"/v1/admin/users", "/v1/admin/audit", "/v1/admin/audit?format=csv", "/v1/admin/stats"} {
			for _, bad := range []string{"yes", "1", "TRUE", ""} {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				res := h.Do(http.MethodGet, path+sep+"branch="+bad, h.AdminKey, nil)
				if bad == "" {
					if res.Status != http.StatusOK {
						t.Errorf("%s with an empty branch = %d, want 200", path, res.Status)
					}
					continue
				}
				wantError(t, res, http.StatusBadRequest, "branch must be true or false")
			}
		}
	})

	t.Run("an ancestor sees a grandchild's organisation changes through the branch", func(t *testing.T) {
		h.Admin(http.MethodPatch, orgs+"/paris", req{"name": "Paris FR"}, http.StatusOK)
		h.Admin(http.MethodPatch, orgs+"/paris", req{"parent": "us"}, http.StatusOK)
		// acme's own trail does not hold paris's rename: the branch does.
		if slices.Contains(h.AuditTypes(""), "organisation.updated") {
			t.Fatal("acme's own trail holds paris's rename")
		}
		byOrg := map[string][]string{}
		res := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?branch=true&limit=1000", nil, http.StatusOK)
		for _, e := range res.Events {
			if typ := e.Type; strings.HasPrefix(typ, "organisation.") {
				byOrg[e.Organisation] = append(byOrg[e.Organisation], typ)
			}
		}
		if !containsAll(byOrg["paris"], "organisation.updated", "organisation.moved") {
			t.Fatalf("paris's organisation events in acme's branch view = %v", byOrg)
		}
		// The move is audited in the old and the new parent too.
		if !containsAll(byOrg["eu"], "organisation.moved") || !containsAll(byOrg["us"], "organisation.moved") {
			t.Fatalf("the move is not in both parents' trails: %v", byOrg)
		}
		// eu's administrator saw paris leave (in eu's own trail) but no
		// longer reaches paris's events.
		if got := auditOrgs(eu, "?branch=true&type=organisation.moved"); !slices.Equal(got, []string{"eu"}) {
			t.Fatalf("eu's branch view of the move covers %v, want eu alone", got)
		}
	})
}
