package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/store"
)

// branchFixture is importFixture's acme with sub-organisations, each with
// a vpn system:
//
//	acme ─┬─ eu ── paris
//	      └─ us
//
// eu has its own ada, us has uma.
func branchFixture(t *testing.T) *harness {
	t.Helper()
	h := importFixture(t)
	const orgs = "/v1/admin/organisations"
	h.Admin(http.MethodPost, orgs, req{"id": "eu"}, http.StatusCreated)
	h.Admin(http.MethodPost, orgs, req{"id": "us"}, http.StatusCreated)
	h.Admin(http.MethodPost, orgs, req{"id": "paris", "parent": "eu"}, http.StatusCreated)
	for _, org := range []string{"eu", "us", "paris"} {
		h.Admin(http.MethodPost, "/v1/admin/systems?organisation="+org, req{"name": "vpn", "methods": []string{"pin"}}, http.StatusCreated)
	}
	h.Admin(http.MethodPost, "/v1/admin/users?organisation=eu", req{"authid": "ada", "name": "Ada of Europe"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users?organisation=us", req{"authid": "uma", "name": "Uma"}, http.StatusCreated)
	return h
}

// csvRecords parses an exported CSV file.
func csvRecords(t *testing.T, file []byte) [][]string {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// usersOf is the organisation's users as "authid:name", by authid.
func usersOf(t *testing.T, h *harness, org string) []string {
	t.Helper()
	users, err := h.Store.ListUsers(context.Background(), store.UserFilter{AccountID: org})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.AuthID + ":" + u.Name
	}
	slices.Sort(out)
	return out
}

// importEvents is the organisation's audit events an import wrote, as
// "type authid".
func importEvents(t *testing.T, h *harness, org string) []string {
	t.Helper()
	events, err := h.Store.ListAudit(context.Background(), store.AuditFilter{AccountID: org})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		if e.Detail["source"] == "import" {
			out = append(out, e.Type+" "+e.AuthID)
		}
	}
	slices.Sort(out)
	return out
}

// rowsOf summarises an import answer's rows as
// "line authid organisation action errors".
func rowsOf(body apitest.ImportResult) []string {
	var out []string
	for _, row := range body.Rows {
		out = append(out, fmt.Sprintf("%v %v %v %v %q", row.Line, row.Authid, row.Organisation, row.Action, row.Errors))
	}
	return out
}

func TestExportImportBranch(t *testing.T) {
	t.Parallel()
	h := branchFixture(t)

	t.Run("branch=true exports every organisation of the branch, by organisation then authid", func(t *testing.T) {
		records := csvRecords(t, export(t, h, "?format=csv&branch=true", "text/csv", "users.csv"))
		var got []string
		for _, r := range records[1:] {
			got = append(got, r[7]+"/"+r[0])
		}
		want := []string{"acme/ada", "acme/bob", "acme/carol", "eu/ada", "us/uma"}
		if !slices.Equal(got, want) || records[0][7] != "Organisation" {
			t.Fatalf("exported %q (header %q), want %q", got, records[0], want)
		}
	})

	t.Run("without branch only the scoped organisation, each row naming it", func(t *testing.T) {
		for query, want := range map[string][]string{
			"?format=csv":                             {"acme/ada", "acme/bob", "acme/carol"},
			"?format=csv&branch=false":                {"acme/ada", "acme/bob", "acme/carol"},
			"?format=csv&organisation=eu":             {"eu/ada"},
			"?format=csv&organisation=eu&branch=true": {"eu/ada"},
		} {
			var got []string
			for _, r := range csvRecords(t, export(t, h, query, "text/csv", "users.csv"))[1:] {
				got = append(got, r[7]+"/"+r[0])
			}
			if !slices.Equal(got, want) {
				t.Errorf("export%s = %q, want %q", query, got, want)
			}
		}
	})

	t.Run("a branch neither true nor false is refused", func(t *testing.T) {
		res := h.Do(http.MethodGet, "/v1/admin/export/users?branch=yes", h.AdminKey, nil)
		if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "branch must be true or false") {
			t.Fatalf("export ?branch=yes = %d %s, want 400", res.Status, res.Body)
		}
	})

	t.Run("the export records whether it took the branch", func(t *testing.T) {
		events, err := h.Store.ListAudit(context.Background(), store.AuditFilter{AccountID: "acme", Type: "users.exported"})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 || events[0].Detail["branch"] != false {
			t.Fatalf("latest users.exported = %+v, want branch false", events)
		}
		if !slices.ContainsFunc(events, func(e store.AuditEvent) bool { return e.Detail["branch"] == true }) {
			t.Fatalf("users.exported events %+v, none with branch true", events)
		}
	})

	t.Run("the branch's export re-imports unchanged", func(t *testing.T) {
		file := export(t, h, "?format=xlsx&branch=true", xlsxType, "users.xlsx")
		body := importFile(t, h, "format=xlsx", "", file, http.StatusOK)
		wantSummary(t, body, false, true, "create 0 update 0 unchanged 5 errors 0")
		body = importFile(t, h, "format=xlsx&apply=true", "", file, http.StatusOK)
		wantSummary(t, body, true, true, "create 0 update 0 unchanged 5 errors 0")
		for _, org := range []string{"acme", "eu", "us"} {
			if events := importEvents(t, h, org); len(events) != 0 {
				t.Errorf("an unchanged import wrote %v in %s", events, org)
			}
		}
	})
}

func TestImportIntoOwnAndChildOrganisations(t *testing.T) {
	t.Parallel()
	h := branchFixture(t)
	// fay is new in acme and in eu: two users. eu's ada is updated,
	// acme's is left alone.
	file := []byte("authid,name,systems,Organisation\n" +
		"fay,Fay,vpn:pin,\n" +
		"fay,Fay EU,vpn:pin,eu\n" +
		"gil,Gil,,eu\n" +
		"ada,Ada in Europe,vpn:pin,eu\n" +
		"pia,Pia,vpn:pin,paris\n")

	body := importFile(t, h, "format=csv", "", file, http.StatusOK)
	wantSummary(t, body, false, true, "create 4 update 1 unchanged 0 errors 0")
	want := []string{`2 fay acme create []`, `3 fay eu create []`, `4 gil eu create []`, `5 ada eu update []`, `6 pia paris create []`}
	if got := rowsOf(body); !slices.Equal(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}

	body = importFile(t, h, "format=csv&apply=true", "", file, http.StatusOK)
	wantSummary(t, body, true, true, "create 4 update 1 unchanged 0 errors 0")
	for org, want := range map[string][]string{
		"acme":  {"ada:Ada Lovelace", "bob:=1+1", "carol:Carol, \"C\"", "fay:Fay"},
		"eu":    {"ada:Ada in Europe", "fay:Fay EU", "gil:Gil"},
		"paris": {"pia:Pia"},
		"us":    {"uma:Uma"},
	} {
		if got := usersOf(t, h, org); !slices.Equal(got, want) {
			t.Errorf("users of %s = %q, want %q", org, got, want)
		}
	}

	t.Run("each user's events are in the user's organisation", func(t *testing.T) {
		for org, want := range map[string][]string{
			"acme":  {"assignments.updated fay", "user.created fay"},
			"eu":    {"assignments.updated ada", "assignments.updated fay", "user.created fay", "user.created gil", "user.updated ada"},
			"paris": {"assignments.updated pia", "user.created pia"},
		} {
			if got := importEvents(t, h, org); !slices.Equal(got, want) {
				t.Errorf("import events of %s = %q, want %q", org, got, want)
			}
		}
		events, err := h.Store.ListAudit(context.Background(), store.AuditFilter{AccountID: "eu", AuthID: "gil"})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Detail["actor_organisation"] != "acme" {
			t.Errorf("gil's events = %+v, want one saying acme's administrator did it", events)
		}
	})

	t.Run("a row is checked against its own organisation's systems", func(t *testing.T) {
		// mail is a system of acme alone.
		body := importFile(t, h, "format=csv", "", []byte("authid,systems,Organisation\njo,mail:passwordless,\njo,mail:passwordless,eu\n"), http.StatusOK)
		want := []string{`2 jo acme create []`, `3 jo eu create ["system \"mail\" does not exist"]`}
		if got := rowsOf(body); !slices.Equal(got, want) {
			t.Fatalf("rows = %q, want %q", got, want)
		}
	})

	t.Run("an empty cell and the scope's id name the same user", func(t *testing.T) {
		body := importFile(t, h, "format=csv", "", []byte("authid,Organisation\nkim,\nkim,acme\n"), http.StatusOK)
		want := []string{`2 kim acme create []`, `3 kim acme create ["authid \"kim\" of organisation \"acme\" is already on line 2"]`}
		if got := rowsOf(body); !slices.Equal(got, want) {
			t.Fatalf("rows = %q, want %q", got, want)
		}
	})
}

func TestImportCrossOrganisationRefusedWhole(t *testing.T) {
	t.Parallel()
	h := branchFixture(t)
	euKey := h.keyOf("eu")
	// Valid rows for eu and paris, then rows naming eu's parent, its
	// sibling and an organisation that does not exist.
	file := []byte("authid,name,Organisation\n" +
		"hal,Hal,\n" +
		"ivy,Ivy,paris\n" +
		"ada,Changed,eu\n" +
		"ada,Hacked,acme\n" +
		"uma,Hacked,us\n" +
		"zed,Zed,nowhere\n")
	before := map[string][]string{}
	for _, org := range []string{"acme", "eu", "paris", "us"} {
		before[org] = usersOf(t, h, org)
	}

	for name, as := range map[string]struct{ key, query string }{
		"the child's administrator":                      {euKey, ""},
		"the parent's administrator scoped to the child": {h.AdminKey, "organisation=eu&"},
	} {
		t.Run(name, func(t *testing.T) {
			send := func(apply string, want int) apitest.ImportResult {
				t.Helper()
				res := sendFileAs(t, h, as.key, "/v1/admin/users/import?"+as.query+"format=csv&apply="+apply, "", bytes.NewReader(file))
				if res.Status != want {
					t.Fatalf("import apply=%s = %d %s, want %d", apply, res.Status, res.Body, want)
				}
				return apitest.Decode[apitest.ImportResult](t, res)
			}
			body := send("false", http.StatusOK)
			wantSummary(t, body, false, false, "create 2 update 1 unchanged 0 errors 3")
			want := []string{
				`2 hal eu create []`,
				`3 ivy paris create []`,
				`4 ada eu update []`,
				`5 ada acme create ["organisation \"acme\" not found"]`,
				`6 uma us create ["organisation \"us\" not found"]`,
				`7 zed nowhere create ["organisation \"nowhere\" not found"]`,
			}
			if got := rowsOf(body); !slices.Equal(got, want) {
				t.Fatalf("rows = %q, want %q", got, want)
			}

			body = send("true", http.StatusUnprocessableEntity)
			wantSummary(t, body, false, false, "create 2 update 1 unchanged 0 errors 3")
			for org, want := range before {
				if got := usersOf(t, h, org); !slices.Equal(got, want) {
					t.Errorf("users of %s after a refused import = %q, want %q", org, got, want)
				}
				if events := importEvents(t, h, org); len(events) != 0 {
					t.Errorf("a refused import wrote %v in %s", events, org)
				}
			}
		})
	}
}
