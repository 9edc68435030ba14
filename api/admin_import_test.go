package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/flexauth/flexauth/internal/apitest"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// sendFile posts body as is with contentType (none when empty) and the
// admin key.
func sendFile(t *testing.T, h *harness, path, contentType string, body io.Reader) apitest.Response {
	t.Helper()
	return sendFileAs(t, h, h.AdminKey, path, contentType, body)
}

// sendFileAs is sendFile with another key.
func sendFileAs(t *testing.T, h *harness, key, path, contentType string, body io.Reader) apitest.Response {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, h.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("apikey", key)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
}

// importFile posts a file to the import endpoint and checks the status.
func importFile(t *testing.T, h *harness, query, contentType string, file []byte, want int) apitest.ImportResult {
	t.Helper()
	res := sendFile(t, h, "/v1/admin/users/import?"+query, contentType, bytes.NewReader(file))
	if res.Status != want {
		t.Fatalf("import ?%s = %d %s, want %d", query, res.Status, res.Body, want)
	}
	return apitest.Decode[apitest.ImportResult](t, res)
}

// export downloads the users file and checks its headers.
func export(t *testing.T, h *harness, query, wantType, wantName string) []byte {
	t.Helper()
	res := h.Do(http.MethodGet, "/v1/admin/export/users"+query, h.AdminKey, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("export%s = %d %s", query, res.Status, res.Body)
	}
	if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, wantType) {
		t.Errorf("Content-Type = %q, want %s", got, wantType)
	}
	if got := res.Header.Get("Content-Disposition"); got != "attachment; filename="+wantName {
		t.Errorf("Content-Disposition = %q, want attachment; filename=%s", got, wantName)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store: the file holds every user's contact data", got)
	}
	return []byte(res.Body)
}

// importRows summarises a preview's rows as "authid action changes errors".
func importRows(t *testing.T, body apitest.ImportResult) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, row := range body.Rows {
		out[row.Authid] = fmt.Sprintf("%s %v %d", row.Action, row.Changes, len(row.Errors))
	}
	return out
}

func wantSummary(t *testing.T, body apitest.ImportResult, applied, valid bool, summary string) {
	t.Helper()
	s := body.Summary
	got := fmt.Sprintf("create %v update %v unchanged %v errors %v", s.Create, s.Update, s.Unchanged, s.Errors)
	if body.Applied != applied || body.Valid != valid || got != summary {
		t.Fatalf("applied %v valid %v %s, want applied %v valid %v %s", body.Applied, body.Valid, got, applied, valid, summary)
	}
}

// importFixture is an account with two systems and three users.
func importFixture(t *testing.T) *harness {
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin", "totp"}}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "mail", "methods": []string{"passwordless"}}, http.StatusCreated)
	users := []req{
		{"authid": "ada", "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+447700900123"},
		{"authid": "bob", "name": "=1+1", "email": "bob@example.com"},
		{"authid": "carol", "name": "Carol, \"C\"", "phone": "+15555550100"},
	}
	for _, u := range users {
		h.Admin(http.MethodPost, "/v1/admin/users", u, http.StatusCreated)
	}
	h.Admin(http.MethodPut, "/v1/admin/users/ada/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}, {"system": "mail", "method": "passwordless"}}}, http.StatusOK)
	h.Admin(http.MethodPut, "/v1/admin/users/bob/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)
	return h
}

// editCSV applies edit to the records of a CSV file.
func editCSV(t *testing.T, file []byte, edit func(records [][]string) [][]string) []byte {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(edit(records)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportExportCSV(t *testing.T) {
	t.Parallel()
	h := importFixture(t)
	file := export(t, h, "", "text/csv", "users.csv")

	t.Run("the export re-imports with no change", func(t *testing.T) {
		body := importFile(t, h, "format=csv", "", file, http.StatusOK)
		wantSummary(t, body, false, true, "create 0 update 0 unchanged 3 errors 0")
		body = importFile(t, h, "format=csv&apply=true", "", file, http.StatusOK)
		wantSummary(t, body, true, true, "create 0 update 0 unchanged 3 errors 0")
		if types := h.AuditTypes("type=user.updated"); len(types) != 0 {
			t.Fatalf("an unchanged import wrote %v", types)
		}
	})

	// An admin adds a user, changes a method and disables a user.
	edited := editCSV(t, file, func(records [][]string) [][]string {
		if strings.Join(records[0], ",") != "authid,name,email,phone,status,systems,Email login enabled,Organisation" {
			t.Fatalf("header = %q", records[0])
		}
		for _, r := range records[1:] {
			switch r[0] {
			case "ada":
				if r[5] != "mail:passwordless;vpn:pin" || r[3] != "'+447700900123" {
					t.Fatalf("ada exported as %q", r)
				}
				r[5] = "mail:passwordless;vpn:totp"
			case "bob":
				if r[1] != "'=1+1" {
					t.Fatalf("bob's name exported as %q, want it escaped", r[1])
				}
				r[4] = "disabled"
			}
		}
		return append(records, []string{"dan", "Dan", "dan@example.com", "+4915112345678", "", "mail:passwordless", "N", ""})
	})

	t.Run("the preview shows exactly the edits and changes nothing", func(t *testing.T) {
		body := importFile(t, h, "", "text/csv; charset=utf-8", edited, http.StatusOK)
		wantSummary(t, body, false, true, "create 1 update 2 unchanged 1 errors 0")
		want := map[string]string{
			"ada":   "update [systems] 0",
			"bob":   "update [status] 0",
			"carol": "unchanged [] 0",
			"dan":   "create [name email phone systems] 0",
		}
		if got := importRows(t, body); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("rows = %v, want %v", got, want)
		}
		if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/bob", nil, http.StatusOK).Status; got != "active" {
			t.Fatalf("a preview disabled bob")
		}
		h.Admin(http.MethodGet, "/v1/admin/users/dan", nil, http.StatusNotFound)
	})

	t.Run("applying makes the edits with their audit events", func(t *testing.T) {
		body := importFile(t, h, "format=csv&apply=true", "", edited, http.StatusOK)
		wantSummary(t, body, true, true, "create 1 update 2 unchanged 1 errors 0")

		if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/bob", nil, http.StatusOK); got.Status != "disabled" || got.Name != "=1+1" {
			t.Errorf("bob = %v, want disabled with his name unescaped", got)
		}
		if s := assignmentList(adminAs[apitest.Assignments](h, http.MethodGet, "/v1/admin/users/ada/systems", nil, http.StatusOK).Assignments); s != "mail:passwordless,vpn:totp" {
			t.Errorf("ada's systems = %s", s)
		}
		dan := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/dan", nil, http.StatusOK)
		if dan.Email != "dan@example.com" || dan.Phone != "+4915112345678" || dan.Status != "active" || assignmentList(dan.Assignments) != "mail:passwordless" {
			t.Errorf("dan = %v", dan)
		}
		for query, want := range map[string][]string{
			"authid=dan":   {"assignments.updated", "user.created"},
			"authid=bob":   {"user.updated", "assignments.updated", "user.created"},
			"authid=ada":   {"assignments.updated", "assignments.updated", "user.created"},
			"authid=carol": {"user.created"},
		} {
			if got := h.AuditTypes(query); !slices.Equal(got, want) {
				t.Errorf("audit %s = %v, want %v", query, got, want)
			}
		}
		events := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?authid=bob&type=user.updated", nil, http.StatusOK).Events
		detail := events[0].Detail
		if actor, _ := detail["actor"].(string); !strings.HasPrefix(actor, "key:") || detail["status"] != "disabled" {
			t.Errorf("bob's update event detail = %v, want actor key:... and status disabled", detail)
		}
	})

	t.Run("the new export holds the edits", func(t *testing.T) {
		again := export(t, h, "?format=csv", "text/csv", "users.csv")
		body := importFile(t, h, "format=csv", "", again, http.StatusOK)
		wantSummary(t, body, false, true, "create 0 update 0 unchanged 4 errors 0")
		if !bytes.Contains(again, []byte("bob,'=1+1,bob@example.com,,disabled,vpn:pin")) {
			t.Errorf("export = %s", again)
		}
	})
}

func TestImportWithABadRowChangesNothing(t *testing.T) {
	t.Parallel()
	h := importFixture(t)
	file := []byte("authid,status,systems\n" +
		"erin,,vpn:pin\n" + // fine alone
		"bob,disabled,vpn:pin\n" + // fine alone
		"frank,,wiki:pin\n" + // no such system
		"ada,,mail:pin\n" + // mail does not enable pin
		"erin,,\n") // a duplicate
	body := importFile(t, h, "format=csv", "", file, http.StatusOK)
	wantSummary(t, body, false, false, "create 1 update 1 unchanged 0 errors 3")
	rows := body.Rows
	for i, want := range []string{"", "", `system "wiki" does not exist`, `does not enable method "pin"`, `authid "erin" is already on line 2`} {
		row := rows[i]
		errs := row.Errors
		if row.Line != i+2 || want == "" && len(errs) != 0 || want != "" && (len(errs) != 1 || !strings.Contains(errs[0], want)) {
			t.Errorf("row %d = %v, want error %q", i, row, want)
		}
	}

	body = importFile(t, h, "format=csv&apply=true", "", file, http.StatusUnprocessableEntity)
	wantSummary(t, body, false, false, "create 1 update 1 unchanged 0 errors 3")
	h.Admin(http.MethodGet, "/v1/admin/users/erin", nil, http.StatusNotFound)
	if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/bob", nil, http.StatusOK).Status; got != "active" {
		t.Fatalf("bob = %v after a refused import", got)
	}
	if types := h.AuditTypes("authid=bob"); len(types) != 2 {
		t.Fatalf("bob's events after a refused import = %v", types)
	}
}

func TestImportExportXLSX(t *testing.T) {
	t.Parallel()
	h := importFixture(t)
	file := export(t, h, "?format=xlsx", xlsxType, "users.xlsx")

	body := importFile(t, h, "", xlsxType, file, http.StatusOK)
	wantSummary(t, body, false, true, "create 0 update 0 unchanged 3 errors 0")

	// Edit the workbook as a spreadsheet program would: carol is disabled
	// and a new user is typed in below.
	f, err := excelize.OpenReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r[0] == "carol" {
			check(f.SetCellStr(sheet, fmt.Sprintf("E%d", i+1), "disabled"))
		}
	}
	check(f.SetSheetRow(sheet, fmt.Sprintf("A%d", len(rows)+1), &[]any{"gus", "Gus", "", "+15555550199", "", "vpn:totp"}))
	var buf bytes.Buffer
	check(f.Write(&buf))
	f.Close()

	body = importFile(t, h, "format=xlsx&apply=true", "application/octet-stream", buf.Bytes(), http.StatusOK)
	wantSummary(t, body, true, true, "create 1 update 1 unchanged 2 errors 0")
	if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/carol", nil, http.StatusOK).Status; got != "disabled" {
		t.Errorf("carol = %v, want disabled", got)
	}
	gus := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/gus", nil, http.StatusOK)
	if gus.Phone != "+15555550199" || assignmentList(gus.Assignments) != "vpn:totp" {
		t.Errorf("gus = %v", gus)
	}
}

func TestImportRefusals(t *testing.T) {
	t.Parallel()
	h := importFixture(t)
	const header = "authid,name\n"
	manyRows := func(n int) []byte {
		var b strings.Builder
		b.WriteString(header)
		for i := range n {
			fmt.Fprintf(&b, "user%05d,%s\n", i, strings.Repeat("n", 40))
		}
		return []byte(b.String())
	}
	big := manyRows(2000) // over the API's usual 64 KiB body limit
	if len(big) <= 64<<10 {
		t.Fatalf("test file of %d bytes is not over 64 KiB", len(big))
	}
	oversized := append([]byte(header), bytes.Repeat([]byte("x"), 5<<20)...)
	tests := []struct {
		name   string
		query  string
		ctype  string
		body   io.Reader
		status int
		error  string
	}{
		{"an unknown format", "format=pdf", "text/csv", strings.NewReader(header), http.StatusBadRequest, "format must be csv or xlsx"},
		{"no format and a JSON content type", "", "application/json", strings.NewReader(header), http.StatusBadRequest, "format=csv or xlsx"},
		{"no format and no content type", "", "", strings.NewReader(header), http.StatusBadRequest, "format=csv or xlsx"},
		{"apply neither true nor false", "format=csv&apply=yes", "", strings.NewReader(header), http.StatusBadRequest, "apply must be true or false"},
		{"an XLSX sent as CSV", "format=csv", "", bytes.NewReader(export(t, h, "?format=xlsx", xlsxType, "users.xlsx")), http.StatusBadRequest, "import it as xlsx"},
		{"a CSV sent as XLSX", "format=xlsx", "", strings.NewReader(header + "ada,Ada\n"), http.StatusBadRequest, "not an XLSX workbook"},
		{"an empty body", "format=csv", "", strings.NewReader(""), http.StatusBadRequest, "the file is empty"},
		{"unknown columns", "format=csv", "", strings.NewReader("authid,department\n"), http.StatusBadRequest, `unknown columns "department"`},
		{"no authid column", "format=csv", "", strings.NewReader("name,email\n"), http.StatusBadRequest, "no authid column"},
		{"over 5 MiB, with a length", "format=csv", "", bytes.NewReader(oversized), http.StatusRequestEntityTooLarge, "exceeds 5242880 bytes"},
		// A reader of unknown length is sent chunked: the limit is found
		// while reading.
		{"over 5 MiB, chunked", "format=csv", "", io.MultiReader(bytes.NewReader(oversized)), http.StatusRequestEntityTooLarge, "exceeds 5242880 bytes"},
		{"over 10 000 rows", "format=csv", "", bytes.NewReader(manyRows(10_001)), http.StatusRequestEntityTooLarge, "more than 10000 user rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			wantError(t, sendFile(t, h, "/v1/admin/users/import?"+tt.query, tt.ctype, tt.body), tt.status, tt.error)
		})
	}
	t.Run("an unknown export format is refused", func(t *testing.T) {
		wantError(t, h.Do(http.MethodGet, "/v1/admin/export/users?format=pdf", h.AdminKey, nil), http.StatusBadRequest, "format must be csv or xlsx")
	})
	t.Run("without an admin key nothing is exported or imported", func(t *testing.T) {
		wantError(t, h.Do(http.MethodGet, "/v1/admin/export/users", "", nil), http.StatusUnauthorized, "")
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/import?format=csv", h.AppKey, header), http.StatusForbidden, "admin key required")
	})
	t.Run("a file over 64 KiB is within the import's own limit", func(t *testing.T) {
		body := importFile(t, h, "format=csv", "", big, http.StatusOK)
		wantSummary(t, body, false, true, "create 2000 update 0 unchanged 0 errors 0")
	})
	t.Run("other routes keep the usual body limit", func(t *testing.T) {
		res := sendFile(t, h, "/v1/admin/users", "application/json", bytes.NewReader(big))
		wantError(t, res, http.StatusRequestEntityTooLarge, "exceeds")
	})
}

// TestUsersNamedLikeRoutes: the export lives outside /users/, so a user
// whose authid is "export" or "import" is addressed like any other.
func TestUsersNamedLikeRoutes(t *testing.T) {
	h := newHarness(t)
	for _, authid := range []string{"export", "import"} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid}, http.StatusCreated)
		if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/"+authid, nil, http.StatusOK).Authid; got != authid {
			t.Fatalf("GET /v1/admin/users/%s = %v", authid, got)
		}
		h.Admin(http.MethodPatch, "/v1/admin/users/"+authid, req{"name": "Named " + authid}, http.StatusOK)
	}
}
