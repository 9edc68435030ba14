package userio

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func readCSVString(t *testing.T, file string, limits Limits) ([]Row, error) {
	t.Helper()
	return Read(strings.NewReader(file), FormatCSV, limits)
}

// mustRead reads a file that must parse, and returns its rows.
func mustRead(t *testing.T, data []byte, format string) []Row {
	t.Helper()
	rows, err := Read(bytes.NewReader(data), format, Limits{})
	if err != nil {
		t.Fatalf("read %s: %v", format, err)
	}
	return rows
}

// wantRowErrors checks that each row has exactly the errors expected of it,
// each found by a substring; nil wants none.
func wantRowErrors(t *testing.T, rows []Row, want map[int][]string) {
	t.Helper()
	for _, row := range rows {
		subs := want[row.Line]
		if len(row.Errors) != len(subs) {
			t.Errorf("line %d: errors %q, want %d matching %q", row.Line, row.Errors, len(subs), subs)
			continue
		}
		for i, sub := range subs {
			if !strings.Contains(row.Errors[i], sub) {
				t.Errorf("line %d: error %q does not say %q", row.Line, row.Errors[i], sub)
			}
		}
	}
}

func TestReadCSVRowErrors(t *testing.T) {
	const header = "authid,name,email,phone,status,systems\n"
	tests := []struct {
		name string
		row  string
		want []string // substrings of the row's errors, in order
	}{
		{"a good row", "ada,Ada Lovelace,ada@example.com,+447700900123,active,vpn:pin;mail:passwordless", nil},
		{"an empty status is active", "ada,,,,,", nil},
		{"a trailing semicolon in systems", "ada,,,,,vpn:pin;", nil},
		{"no authid", ",Ada,,,,", []string{"authid is required"}},
		{"an authid over 256 characters", strings.Repeat("a", 257) + ",,,,,", []string{"authid must be at most 256"}},
		{"an authid with a control character", "\"a\tb\",,,,,", []string{"authid must not contain control characters"}},
		{"a name over 256 characters", "ada," + strings.Repeat("n", 257) + ",,,,", []string{"name must be at most 256"}},
		{"a name with a newline", "ada,\"Ada\nLovelace\",,,,", []string{"name must not contain control characters"}},
		{"an email that is not an address", "ada,,not-an-address,,,", []string{"not a bare address"}},
		{"an email with a display name", "ada,,\"Ada <ada@example.com>\",,,", []string{"not a bare address"}},
		{"an email over 254 characters", "ada,," + strings.Repeat("a", 250) + "@example.com,,,", []string{"at most 254"}},
		{"a phone without +", "ada,,,447700900123,,", []string{"E.164"}},
		{"a phone too short", "ada,,,+1234567,,", []string{"E.164"}},
		{"a phone too long", "ada,,,+1234567890123456,,", []string{"E.164"}},
		{"a phone with letters", "ada,,,+1555CALLME,,", []string{"E.164"}},
		{"an unknown status", "ada,,,,locked,", []string{`status "locked" is not one of active, disabled`}},
		{"a systems entry without method", "ada,,,,,vpn", []string{`"vpn" is not system:method`}},
		{"an unknown method", "ada,,,,,vpn:sms", []string{`method "sms" is not one of`}},
		{"a system twice", "ada,,,,,vpn:pin;vpn:totp", []string{`system "vpn" is listed twice`}},
		{"more cells than the header", "ada,,,,,,extra", []string{"the row has 7 cells, the header only 6"}},
		{"fewer cells than the header", "ada,Ada", []string{"the row has 2 cells, the header 6"}},
		{"several problems at once", ",,nope,123,gone,", []string{"authid is required", "not a bare address", "E.164", "is not one of"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := readCSVString(t, header+tt.row+"\n", Limits{})
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(rows) != 1 {
				t.Fatalf("got %d rows, want 1", len(rows))
			}
			if rows[0].Line != 2 {
				t.Errorf("line = %d, want 2", rows[0].Line)
			}
			wantRowErrors(t, rows, map[int][]string{2: tt.want})
		})
	}
}

func TestReadCSVFields(t *testing.T) {
	// A byte order mark, CRLF line ends, columns in another order and in
	// capitals, blanks around status, systems and organisation, a blank
	// line.
	file := "\xEF\xBB\xBFSystems, Status ,AUTHID,Name,phone,Email, EMAIL LOGIN Enabled,ORGANISATION \r\n" +
		" vpn:pin ; mail:totp , Disabled ,ada,Ada Lovelace,+447700900123,ada@example.com, y , acme-eu \r\n" +
		"\r\n" +
		",,bob,\"Bob, \"\"the builder\"\"\",,,,\r\n"
	rows, err := readCSVString(t, file, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantRowErrors(t, rows, nil)
	want := []Row{
		{Line: 2, Record: Record{AuthID: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+447700900123",
			Status: StatusDisabled, Systems: []Assignment{{"vpn", "pin"}, {"mail", "totp"}}, EmailLogin: true,
			Organisation: "acme-eu"}},
		{Line: 4, Record: Record{AuthID: "bob", Name: `Bob, "the builder"`, Status: StatusActive}},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		if rows[i].Line != want[i].Line || !equalRecords(rows[i].Record, want[i].Record) {
			t.Errorf("row %d = %d %+v, want %d %+v", i, rows[i].Line, rows[i].Record, want[i].Line, want[i].Record)
		}
		for _, col := range columns() {
			if !rows[i].Columns.Has(col) {
				t.Errorf("row %d lacks column %s", i, col)
			}
		}
	}
}

func TestReadEmailLoginColumn(t *testing.T) {
	tests := []struct {
		cell string
		want bool
		err  string
	}{
		{"Y", true, ""},
		{"y", true, ""},
		{" N ", false, ""},
		{"n", false, ""},
		{"", false, ""}, // an empty cell is N
		{"yes", false, `email login enabled "yes" is not Y or N`},
		{"1", false, `email login enabled "1" is not Y or N`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.cell), func(t *testing.T) {
			rows, err := readCSVString(t, "authid,email,Email login enabled\nada,ada@example.com,"+tt.cell+"\n", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if tt.err != "" {
				want = []string{tt.err}
			}
			wantRowErrors(t, rows, map[int][]string{2: want})
			if tt.err == "" && rows[0].EmailLogin != tt.want {
				t.Errorf("EmailLogin = %v, want %v", rows[0].EmailLogin, tt.want)
			}
		})
	}
}

func TestReadOptionalColumns(t *testing.T) {
	rows, err := readCSVString(t, "authid,systems\nada,vpn:pin\n", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !rows[0].Columns.Has(ColSystems) || rows[0].Columns.Has(ColEmail) || rows[0].Columns.Has(ColStatus) {
		t.Fatalf("columns = %v, want authid and systems", rows[0].Columns)
	}
	if rows[0].Status != "" {
		t.Errorf("status without a status column = %q, want empty (left alone)", rows[0].Status)
	}
}

func TestReadDuplicateAuthIDs(t *testing.T) {
	rows, err := readCSVString(t, "authid,name\nada,A\nbob,B\nada,A2\nAda,case differs\nada,A3\n", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantRowErrors(t, rows, map[int][]string{
		4: {`authid "ada" is already on line 2`},
		6: {`authid "ada" is already on line 2`},
	})
}

func TestReadDuplicatesPerOrganisation(t *testing.T) {
	rows, err := readCSVString(t, "authid,Organisation\nada,\nada,eu\nada,us\nada,eu\nada,\nbob,eu\n", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantRowErrors(t, rows, map[int][]string{
		5: {`authid "ada" of organisation "eu" is already on line 3`},
		6: {`authid "ada" is already on line 2`},
	})
}

func TestReadOrganisationCell(t *testing.T) {
	tests := []struct {
		name string
		cell string
		want string // the error's substring, empty for none
	}{
		{"an empty cell", "", ""},
		{"an id", "acme.eu_2-x", ""},
		{"100 characters", strings.Repeat("o", 100), ""},
		{"over 100 characters", strings.Repeat("o", 101), "organisation must be at most 100 characters"},
		{"a control character", "\"ac\tme\"", "organisation must not contain control characters"},
		{"the replacement character", "ac\uFFFDme", "organisation must be valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := readCSVString(t, "authid,organisation\nada,"+tt.cell+"\n", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			wantRowErrors(t, rows, map[int][]string{2: want})
		})
	}
	rows, err := Read(strings.NewReader("authid,organisation\nada,ac\xffme\n"), FormatCSV, Limits{})
	if err == nil {
		t.Fatalf("a CSV file with invalid UTF-8 read as %+v, want refused", rows)
	}
}

func TestReadFileErrors(t *testing.T) {
	many := "authid\n"
	for i := range 11 {
		many += fmt.Sprintf("user%d\n", i)
	}
	tests := []struct {
		name     string
		file     string
		limits   Limits
		want     string
		tooLarge bool
	}{
		{"an empty file", "", Limits{}, "the file is empty", false},
		{"only a byte order mark", "\xEF\xBB\xBF", Limits{}, "the file is empty", false},
		{"unknown columns", "authid,mail,fone\nada,a,b\n", Limits{}, `unknown columns "mail", "fone"`, false},
		{"no authid column", "name,email\nAda,ada@example.com\n", Limits{}, "no authid column", false},
		{"a column twice", "authid,name,Name\n", Limits{}, `column "name" twice`, false},
		{"a bare quote", "authid,name\nada,Ada \"the\" L\n", Limits{}, "malformed CSV", false},
		{"an unterminated quote", "authid,name\nada,\"Ada\n", Limits{}, "malformed CSV", false},
		{"Latin-1 text", "authid,name\nzoe,Zo\xeb\n", Limits{}, "line 2 is not UTF-8", false},
		{"an XLSX file", "PK\x03\x04rest of a zip", Limits{}, "import it as xlsx", false},
		{"over the byte limit", "authid\n" + strings.Repeat("a", 100) + "\n", Limits{MaxBytes: 100}, "exceeds 100 bytes", true},
		{"over the row limit", many, Limits{MaxRows: 10}, "more than 10 user rows", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := readCSVString(t, tt.file, tt.limits)
			if err == nil {
				t.Fatalf("read succeeded with %d rows; want an error saying %q", len(rows), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if errors.Is(err, ErrTooLarge) != tt.tooLarge {
				t.Errorf("errors.Is(%v, ErrTooLarge) = %v, want %v", err, !tt.tooLarge, tt.tooLarge)
			}
		})
	}
}

func TestReadLimitsAreInclusive(t *testing.T) {
	file := "authid\n" + strings.Repeat("ada\n", 1)
	rows, err := readCSVString(t, file, Limits{MaxBytes: int64(len(file)), MaxRows: 1})
	if err != nil || len(rows) != 1 {
		t.Fatalf("a file exactly at the limits: rows %d, err %v", len(rows), err)
	}
}

func TestReadUnknownFormat(t *testing.T) {
	if _, err := Read(strings.NewReader("authid\n"), "pdf", Limits{}); err == nil || !strings.Contains(err.Error(), `"pdf"`) {
		t.Fatalf("format pdf: err = %v", err)
	}
}

// xlsxFile builds a workbook: set fills its first sheet.
func xlsxFile(t *testing.T, set func(f *excelize.File, sheet string)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	set(f, f.GetSheetName(0))
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func setRow(t *testing.T, f *excelize.File, sheet string, line int, values ...any) {
	t.Helper()
	cell, _ := excelize.CoordinatesToCellName(1, line)
	if err := f.SetSheetRow(sheet, cell, &values); err != nil {
		t.Fatal(err)
	}
}

func TestReadXLSXCellTypes(t *testing.T) {
	data := xlsxFile(t, func(f *excelize.File, sheet string) {
		setRow(t, f, sheet, 1, "authid", "name", "phone", "status")
		setRow(t, f, sheet, 2, 12345, "a number as authid", "", "")
		setRow(t, f, sheet, 3, "phone", "typed as a number", 447700900123, "")
		setRow(t, f, sheet, 4, "float", 1.5, "", "")
		setRow(t, f, sheet, 5, "bool", true, "", "")
		setRow(t, f, sheet, 6, "status", "", "", false)
		setRow(t, f, sheet, 7, "date", "", "", "")
		setRow(t, f, sheet, 8, "big", 4.477009e+11, "", "")
		date, err := f.NewStyle(&excelize.Style{NumFmt: 14})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellValue(sheet, "B7", 45000); err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellStyle(sheet, "B7", "B7", date); err != nil {
			t.Fatal(err)
		}
		custom := "dd/mm/yyyy"
		custDate, err := f.NewStyle(&excelize.Style{CustomNumFmt: &custom})
		if err != nil {
			t.Fatal(err)
		}
		setRow(t, f, sheet, 9, "custom date", 45000, "", "")
		if err := f.SetCellStyle(sheet, "B9", "B9", custDate); err != nil {
			t.Fatal(err)
		}
		// A cell shown as 4.48E+11 is still stored in full.
		sci, err := f.NewStyle(&excelize.Style{NumFmt: 11})
		if err != nil {
			t.Fatal(err)
		}
		setRow(t, f, sheet, 10, "scientific", 447700900123, "", "")
		if err := f.SetCellStyle(sheet, "B10", "B10", sci); err != nil {
			t.Fatal(err)
		}
	})
	rows := mustRead(t, data, FormatXLSX)
	wantRowErrors(t, rows, map[int][]string{
		3: {"format the column as text"},
		5: {"name: a TRUE/FALSE cell (TRUE); want text"},
		6: {"status: a TRUE/FALSE cell (FALSE); want text"},
		7: {"name: a date cell"},
		9: {"name: a date cell"},
	})
	names := map[int]string{}
	for _, r := range rows {
		names[r.Line] = r.AuthID + "|" + r.Name + "|" + r.Phone
	}
	for line, want := range map[int]string{
		2:  "12345|a number as authid|",
		3:  "phone|typed as a number|447700900123",
		4:  "float|1.5|",
		8:  "big|447700900000|",
		10: "scientific|447700900123|",
	} {
		if names[line] != want {
			t.Errorf("row %d = %q, want %q", line, names[line], want)
		}
	}
}

func TestReadXLSXLayout(t *testing.T) {
	// The header need not be on row 1, blank rows are skipped, a second
	// sheet is ignored and line numbers are the sheet's row numbers.
	data := xlsxFile(t, func(f *excelize.File, sheet string) {
		setRow(t, f, sheet, 3, "AuthID", "Email")
		setRow(t, f, sheet, 4, "ada", "ada@example.com")
		setRow(t, f, sheet, 7, "bob") // a spreadsheet row stops at its last value
		if _, err := f.NewSheet("Other"); err != nil {
			t.Fatal(err)
		}
		setRow(t, f, "Other", 1, "nonsense", "columns")
	})
	rows := mustRead(t, data, FormatXLSX)
	wantRowErrors(t, rows, nil)
	if len(rows) != 2 || rows[0].Line != 4 || rows[0].Email != "ada@example.com" || rows[1].Line != 7 || rows[1].AuthID != "bob" {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestReadXLSXFileErrors(t *testing.T) {
	header := func(f *excelize.File, sheet string) { setRow(t, f, sheet, 1, "authid") }
	manyRows := xlsxFile(t, func(f *excelize.File, sheet string) {
		header(f, sheet)
		for i := range 11 {
			setRow(t, f, sheet, i+2, fmt.Sprintf("user%d", i))
		}
	})
	// Highly compressible: small as a file, large unzipped.
	bomb := xlsxFile(t, func(f *excelize.File, sheet string) {
		header(f, sheet)
		for i := range 500 {
			setRow(t, f, sheet, i+2, fmt.Sprint(i, strings.Repeat("a", 300)))
		}
	})
	tests := []struct {
		name     string
		data     []byte
		limits   Limits
		want     string
		tooLarge bool
	}{
		{"not a workbook", []byte("authid\nada\n"), Limits{}, "not an XLSX workbook", false},
		{"an empty sheet", xlsxFile(t, func(*excelize.File, string) {}), Limits{}, "is empty", false},
		{"unknown columns", xlsxFile(t, func(f *excelize.File, sheet string) { setRow(t, f, sheet, 1, "authid", "colour") }), Limits{}, `unknown columns "colour"`, false},
		{"over the row limit", manyRows, Limits{MaxRows: 10}, "more than 10 user rows", true},
		{"over the byte limit", manyRows, Limits{MaxBytes: 1000}, "exceeds 1000 bytes", true},
		{"unzipping past the limit", bomb, Limits{MaxBytes: int64(len(bomb))}, "unpacks to more than", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := Read(bytes.NewReader(tt.data), FormatXLSX, tt.limits)
			if err == nil {
				t.Fatalf("read succeeded with %d rows; want an error saying %q", len(rows), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if errors.Is(err, ErrTooLarge) != tt.tooLarge {
				t.Errorf("errors.Is(%v, ErrTooLarge) = %v, want %v", err, !tt.tooLarge, tt.tooLarge)
			}
		})
	}
}

func equalRecords(a, b Record) bool {
	return a.AuthID == b.AuthID && a.Name == b.Name && a.Email == b.Email && a.Phone == b.Phone &&
		a.Status == b.Status && slices.Equal(a.Systems, b.Systems) && a.EmailLogin == b.EmailLogin &&
		a.Organisation == b.Organisation
}
