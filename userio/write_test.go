package userio

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// tricky are users whose values a spreadsheet program or a careless
// parser would change.
func tricky() []Record {
	return []Record{
		{AuthID: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+447700900123", Status: StatusActive,
			Systems: []Assignment{{"mail", "passwordless"}, {"vpn", "pin"}}, EmailLogin: true, Organisation: "acme"},
		{AuthID: "=cmd|' /C calc'!A0", Name: "=HYPERLINK(\"http://evil.example\",\"click\")", Status: StatusDisabled},
		{AuthID: "plus", Name: "+1+1", Phone: "+15555550100", Status: StatusActive},
		{AuthID: "minus", Name: "-2+3", Status: StatusActive},
		{AuthID: "at", Name: "@SUM(1,1)", Status: StatusActive},
		{AuthID: "quote", Name: "'Tis I", Status: StatusActive},
		{AuthID: "quoted formula", Name: "'=1+1", Status: StatusActive},
		{AuthID: "two quotes", Name: "''+x", Status: StatusActive},
		{AuthID: "zoë", Name: "Zoë Ångström, \"Z\"; 日本", Email: "zoe@example.com", Status: StatusActive,
			Systems: []Assignment{{"-dash", "totp"}, {"sso.app", "sso"}}},
		{AuthID: "00123", Name: "0042", Status: StatusActive},
		{AuthID: "  spaced  ", Name: " leading and trailing ", Status: StatusActive},
		{AuthID: " =blank", Name: "  =1+1", Status: StatusActive},
		{AuthID: "nbsp", Name: "\u00a0@SUM(1,1)", Status: StatusActive},
		{AuthID: "＝full-width", Name: "＝HYPERLINK(\"http://evil.example\")", Status: StatusActive},
		{AuthID: "ideographic", Name: "\u3000－1＋1", Status: StatusActive},
		{AuthID: "zero-width", Name: "\u200b+1", Status: StatusActive},
		{AuthID: "quoted blank", Name: " '=1", Status: StatusActive},
	}
}

// runsAsFormula reports whether a spreadsheet program could run cell as a
// formula: its first character, after what the programs skip, is a
// formula sign (full-width ones included), or it starts with a tab or
// carriage return, and no apostrophe marks it as text.
func runsAsFormula(cell string) bool {
	if strings.HasPrefix(cell, "'") {
		return false
	}
	if strings.HasPrefix(cell, "\t") || strings.HasPrefix(cell, "\r") {
		return true
	}
	rest := strings.TrimLeftFunc(cell, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	})
	first, _ := utf8.DecodeRuneInString(rest)
	return strings.ContainsRune("=+-@＝＋－＠", first)
}

func TestRoundTrip(t *testing.T) {
	for _, format := range []string{FormatCSV, FormatXLSX} {
		t.Run(format, func(t *testing.T) {
			// The same authid in another organisation is another user.
			users := append(tricky(), Record{AuthID: "ada", Name: "Ada of Europe", Status: StatusActive, Organisation: "acme.eu"})
			var buf bytes.Buffer
			if err := Write(&buf, format, users); err != nil {
				t.Fatal(err)
			}
			rows := mustRead(t, buf.Bytes(), format)
			wantRowErrors(t, rows, nil)
			if len(rows) != len(users) {
				t.Fatalf("read %d rows, wrote %d", len(rows), len(users))
			}
			// Each organisation's users are compared with its own.
			current := map[string]map[string]Record{}
			byOrganisation := map[string][]Row{}
			for i, u := range users {
				if rows[i].Line != i+2 {
					t.Errorf("row %d is on line %d, want %d", i, rows[i].Line, i+2)
				}
				if !equalRecords(rows[i].Record, u) {
					t.Errorf("row %d:\n got  %+v\n want %+v", i, rows[i].Record, u)
				}
				if current[u.Organisation] == nil {
					current[u.Organisation] = map[string]Record{}
				}
				current[u.Organisation][u.AuthID] = u
				byOrganisation[u.Organisation] = append(byOrganisation[u.Organisation], rows[i])
			}
			systems := map[string][]string{"vpn": {"pin"}, "mail": {"passwordless"}, "-dash": {"totp"}, "sso.app": {"sso"}}
			for org, rows := range byOrganisation {
				for _, c := range Diff(rows, current[org], systems) {
					if c.Action != ActionUnchanged || len(c.Changes) > 0 || !c.OK() {
						t.Errorf("re-importing %q of %q: %s %v %v, want unchanged", c.AuthID, org, c.Action, c.Changes, c.Errors)
					}
				}
			}
		})
	}
}

// exportedCells writes users and returns the cells as a spreadsheet
// program would see them, the header first.
func exportedCells(t *testing.T, format string, users []Record) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, users); err != nil {
		t.Fatal(err)
	}
	if format == FormatCSV {
		if !bytes.HasPrefix(buf.Bytes(), utf8BOM) {
			t.Error("the CSV export has no byte order mark; Excel would garble non-ASCII names")
		}
		cells, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), utf8BOM))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return cells
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cells, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	return cells
}

func TestExportEscapesFormulas(t *testing.T) {
	users := tricky()
	for _, format := range []string{FormatCSV, FormatXLSX} {
		t.Run(format, func(t *testing.T) {
			cells := exportedCells(t, format, users)
			if strings.Join(cells[0], ",") != "authid,name,email,phone,status,systems,Email login enabled,Organisation" {
				t.Fatalf("header = %q", cells[0])
			}
			if cells[1][6] != "Y" || cells[2][6] != "N" {
				t.Fatalf("email login cells = %q, %q; want Y and N", cells[1][6], cells[2][6])
			}
			for i, row := range cells[1:] {
				for _, v := range row {
					if runsAsFormula(v) {
						t.Errorf("row %d: cell %q would run as a formula", i+2, v)
					}
				}
			}
			want := map[int][2]string{ // row -> authid and name cells
				2:  {"'=cmd|' /C calc'!A0", "'=HYPERLINK(\"http://evil.example\",\"click\")"},
				3:  {"plus", "'+1+1"},
				4:  {"minus", "'-2+3"},
				5:  {"at", "'@SUM(1,1)"},
				6:  {"quote", "''Tis I"},
				7:  {"quoted formula", "''=1+1"},
				8:  {"two quotes", "'''+x"},
				12: {"' =blank", "'  =1+1"},
				13: {"nbsp", "'\u00a0@SUM(1,1)"},
				14: {"'＝full-width", "'＝HYPERLINK(\"http://evil.example\")"},
				15: {"ideographic", "'\u3000－1＋1"},
				16: {"zero-width", "'\u200b+1"},
				17: {"quoted blank", " '=1"},
			}
			for i, w := range want {
				if got := cells[i][:2]; got[0] != w[0] || got[1] != w[1] {
					t.Errorf("row %d: %q, want %q", i, got, w)
				}
			}
			if phone := cells[1][3]; phone != "'+447700900123" {
				t.Errorf("phone cell = %q, want '+447700900123 (escaped, read back with its +)", phone)
			}
		})
	}
}

func TestImportStripsOnlyTheEscape(t *testing.T) {
	// Files written by hand: an apostrophe is removed only where an
	// export would have put it.
	file := "authid,name,phone\n" +
		"a,'=1+1,'+15555550100\n" +
		"b,'Tis,+15555550100\n" +
		"c,''=x,\n" +
		"d,',\n"
	rows, err := readCSVString(t, file, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantRowErrors(t, rows, nil)
	want := []string{"=1+1|+15555550100", "'Tis|+15555550100", "'=x|", "'|"}
	for i, w := range want {
		if got := rows[i].Name + "|" + rows[i].Phone; got != w {
			t.Errorf("row %s: %q, want %q", rows[i].AuthID, got, w)
		}
	}
}

func TestXLSXExportKeepsTextColumns(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, FormatXLSX, tricky()[:1]); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A cell the admin adds below the export takes the column's style:
	// Text, so a typed +44... stays text.
	id, err := f.GetCellStyle(f.GetSheetName(0), "D50")
	if err != nil {
		t.Fatal(err)
	}
	style, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if style.NumFmt != xlsxTextFormat {
		t.Fatalf("phone column number format = %d, want %d (Text)", style.NumFmt, xlsxTextFormat)
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "ods", nil); err == nil {
		t.Fatal("format ods: no error")
	}
}
