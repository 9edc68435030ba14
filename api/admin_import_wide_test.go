package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/flexauth/flexauth/internal/apitest"
)

// wideXLSX is a workbook of a header and rows users, each with its only
// value in column XFD (the last, 16384th), built with excelize's stream
// writer: a few kilobytes, well under the import's byte and unzip limits.
func wideXLSX(t *testing.T, rows int) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.SetRow("A1", []any{"authid", "name"}); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := sw.SetRow(fmt.Sprintf("XFD%d", i+2), []any{fmt.Sprint("user", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportRefusesWideFiles: a file wider than a users file can be is
// refused as a bad request naming the row, before its cells are kept:
// each such row was kept as 16384 cells and the sheet then loaded with
// every row padded as wide, megabytes a row (500 rows keep a regression
// from taking the machine down with it). userio's tests measure the
// memory, which the parallel tests here would blur.
func TestImportRefusesWideFiles(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	tests := []struct {
		name, query string
		file        []byte
		want        string
	}{
		{"an XLSX with values in column XFD", "format=xlsx", wideXLSX(t, 500), "row 2 reaches column XFD"},
		{"a CSV line of a million commas", "format=csv", []byte("authid\nada" + strings.Repeat(",", 1<<20) + "\n"), "line 2 has more than 64 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, apply := range []string{"", "&apply=true"} {
				res := sendFile(t, h, "/v1/admin/users/import?"+tt.query+apply, "", bytes.NewReader(tt.file))
				wantError(t, res, http.StatusBadRequest, tt.want+"; a users file may be at most 64 columns wide")
			}
		})
	}
	if users := adminAs[apitest.Users](h, http.MethodGet, "/v1/admin/users", nil, http.StatusOK); users.Total != 0 {
		t.Fatalf("users after the refused imports = %v", users)
	}
}
