package api_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

// TestAuditExportDefusesFormulas: authids, systems and reasons in the
// audit trail come from outside; a spreadsheet opening the export must not
// run any of them, wherever the formula sign hides.
func TestAuditExportDefusesFormulas(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	want := map[string]string{ // authid -> its exported cell
		"=cmd|calc":     "'=cmd|calc",
		" =cmd|calc":    "' =cmd|calc",
		"\u00a0+1":      "'\u00a0+1",
		"\u3000@SUM(1)": "'\u3000@SUM(1)",
		"＝1+1":          "'＝1+1",
		"＋1":            "'＋1",
		"－1":            "'－1",
		"＠SUM(1)":       "'＠SUM(1)",
		"\u200b-1":      "'\u200b-1",
		"'quoted":       "''quoted",
		"plain":         "plain",
		"a=b":           "a=b",
	}
	for authid := range want {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid}, http.StatusCreated)
	}
	res := h.Do(http.MethodGet, "/v1/admin/audit?type=user.created&format=csv", h.AdminKey, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("export = %d %s", res.Status, res.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want)+1 {
		t.Fatalf("%d rows, want a header and %d events", len(rows), len(want))
	}
	got := map[string]bool{}
	for _, row := range rows[1:] {
		got[row[4]] = true
	}
	for authid, cell := range want {
		if !got[cell] {
			t.Errorf("authid %q: no cell %q in the export %q", authid, cell, rows[1:])
		}
	}
}
