package userio

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// wideRows is how many rows the wide workbooks below have. Before the
// width limit each row cost megabytes (its padded cells kept, then the
// whole sheet loaded with every row padded to its last cell), so these
// took gigabytes; few enough that a regression fails the memory check
// rather than the machine.
const wideRows = 500

// maxReadAlloc bounds what reading one of the files below may allocate.
const maxReadAlloc = 100 << 20

// streamedXLSX builds a workbook of the row header and then rows rows,
// row(i) giving the values of the i-th from column A (nil leaves a cell
// out). excelize's stream writer keeps no padded rows of its own.
func streamedXLSX(t *testing.T, header []any, rows int, row func(i int) []any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.SetRow("A1", header); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := sw.SetRow(fmt.Sprintf("A%d", i+2), row(i)); err != nil {
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

// inColumn is a row that holds v in column col, after the values first.
func inColumn(col int, v any, first ...any) []any {
	row := make([]any, col)
	copy(row, first)
	row[col-1] = v
	return row
}

// readMeasured reads data and returns what Read returned and how many
// bytes it allocated in all, garbage included: a bound on how much it
// grew the heap.
func readMeasured(t *testing.T, data []byte, format string) ([]Row, uint64, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rows, err := Read(bytes.NewReader(data), format, Limits{})
	runtime.ReadMemStats(&after)
	return rows, after.TotalAlloc - before.TotalAlloc, err
}

func TestReadRefusesWideFilesCheaply(t *testing.T) {
	header := []any{"authid", "name"}
	var manyLines strings.Builder
	manyLines.WriteString("authid,name\n")
	for i := range wideRows * 10 {
		fmt.Fprintf(&manyLines, "user%d%s\n", i, strings.Repeat(",", 1000))
	}
	tests := []struct {
		name, format string
		data         []byte
		want         string
	}{
		{"a value in column XFD on every row", FormatXLSX,
			streamedXLSX(t, header, wideRows, func(i int) []any { return inColumn(16384, fmt.Sprint("x", i)) }),
			"row 2 reaches column XFD"},
		{"a header reaching column XFD", FormatXLSX, streamedXLSX(t, inColumn(16384, "name", "authid"), 0, nil),
			"row 1 reaches column XFD"},
		{"a value in column BM", FormatXLSX, streamedXLSX(t, header, 1, func(int) []any { return inColumn(65, "x", "ada") }),
			"row 2 reaches column BM"},
		{"a line of 4 MB of commas", FormatCSV, []byte("authid\nada" + strings.Repeat(",", 4<<20) + "\n"),
			"line 2 has more than 64 fields"},
		{"a header of 65 fields", FormatCSV, []byte("authid" + strings.Repeat(",", 64) + "\nada\n"),
			"line 1 has more than 64 fields"},
		{"lines of a thousand commas", FormatCSV, []byte(manyLines.String()), "line 2 has more than 64 fields"},
		{"a wide line after a quoted field of several lines", FormatCSV,
			[]byte("authid,name\nada,\"Ada\n\"\"L\"\",\nX\"\nbob" + strings.Repeat(",", 64) + "\n"),
			"line 5 has more than 64 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.data) > DefaultMaxBytes {
				t.Fatalf("the file is %d bytes, over the byte limit", len(tt.data))
			}
			rows, alloc, err := readMeasured(t, tt.data, tt.format)
			if alloc > maxReadAlloc {
				t.Errorf("reading the %d-byte file allocated %d MiB", len(tt.data), alloc>>20)
			}
			if err == nil {
				t.Fatalf("read %d rows; want the file refused", len(rows))
			}
			for _, want := range []string{tt.want, "at most 64 columns wide", "its columns are authid,name,email"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestReadWidthLimitIsInclusive(t *testing.T) {
	// 64 columns are read: the cells past the header are the row's error.
	xlsx := streamedXLSX(t, []any{"authid", "name"}, 1, func(int) []any { return inColumn(64, "note", "ada") })
	csv := []byte("authid,name\nada" + strings.Repeat(",", 63) + "\n")
	for format, data := range map[string][]byte{FormatXLSX: xlsx, FormatCSV: csv} {
		rows := mustRead(t, data, format)
		wantRowErrors(t, rows, map[int][]string{2: {"the row has 64 cells, the header only 2"}})
	}
	// Commas within quotes are text, not fields.
	name := strings.Repeat("a,", 100)
	rows := mustRead(t, []byte("authid,name\nada,\""+name+"\"\n"), FormatCSV)
	wantRowErrors(t, rows, nil)
	if len(rows) != 1 || rows[0].Name != name {
		t.Fatalf("rows = %+v, want ada named %q", rows, name)
	}
}

func TestReadXLSXEmptyCellsFarRight(t *testing.T) {
	// An empty cell holds no value to pad a row up to, so the rows are
	// within the limit; but loading the sheet would pad every row up to
	// it, empty rows too.
	f := excelize.NewFile()
	style, err := f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFFF00"}}})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	empty := excelize.Cell{StyleID: style}
	data := streamedXLSX(t, []any{"authid", "name"}, 2*wideRows, func(i int) []any {
		if i%2 == 1 {
			return inColumn(16384, empty) // an empty row
		}
		return inColumn(16384, empty, fmt.Sprint("user", i), 12345)
	})
	rows, alloc, err := readMeasured(t, data, FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	wantRowErrors(t, rows, nil)
	if len(rows) != wideRows || rows[1].Line != 4 || rows[1].AuthID != "user2" || rows[1].Name != "12345" {
		t.Fatalf("read %d rows, the second %+v; want %d, the second user2 on line 4", len(rows), rows[1], wideRows)
	}
	if alloc > maxReadAlloc {
		t.Errorf("reading the %d-byte file allocated %d MiB", len(data), alloc>>20)
	}
}

// replacePart returns the XLSX data with its part name replaced by
// content.
func replacePart(t *testing.T, data []byte, name, content string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			_, err = io.WriteString(w, content)
		} else {
			var r io.ReadCloser
			if r, err = f.Open(); err == nil {
				_, err = io.Copy(w, r)
				r.Close()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadXLSXKindsAsExcelize checks that the cells are typed as
// excelize's GetCellType and GetCellStyle, which the reader used before
// it typed them from the streamed sheet, type them: by the cell's type,
// and a number by its style, else its row's, else its column's. The sheet
// is written by hand for what excelize would not write: cells and rows
// without references, a styled row or column over cells without a style.
func TestReadXLSXKindsAsExcelize(t *testing.T) {
	const sheet = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<cols><col min="3" max="3" width="9" style="1"/></cols>
<sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>authid</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c><c r="C1" t="inlineStr"><is><t>phone</t></is></c><c r="D1" t="inlineStr"><is><t>email</t></is></c></row>
<row r="2" s="1" customFormat="1"><c r="A2" t="inlineStr"><is><t>row style</t></is></c><c r="B2"><v>45000</v></c></row>
<row r="3"><c r="A3" t="inlineStr"><is><t>column style</t></is></c><c r="B3"><v>7</v></c><c r="C3"><v>45000</v></c></row>
<row><c t="inlineStr"><is><t>no references</t></is></c><c t="b"><v>1</v></c><c t="e"><v>#N/A</v></c></row>
<row r="6"><c r="A6" t="inlineStr"><is><t>after a gap</t></is></c><c r="C6" s="0"><v>12</v></c></row>
<row><c r="A7" t="str"><f>"x"</f><v>x</v></c><c r="B7" t="d"><v>2023-01-01T00:00:00Z</v></c><c r="D7" t="n"><v>4.477009E+11</v></c></row>
<row r="9"><c r="A9" t="inlineStr"><is><t>far empty</t></is></c><c r="XFD9" s="1"/></row>
</sheetData>
</worksheet>`
	data := xlsxFile(t, func(f *excelize.File, _ string) {
		if id, err := f.NewStyle(&excelize.Style{NumFmt: 14}); err != nil || id != 1 {
			t.Fatalf("date style = %d, %v; the sheet wants it as style 1", id, err)
		}
	})
	data = replacePart(t, data, "xl/worksheets/sheet1.xml", sheet)
	tab, err := readXLSX(data, Limits{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]cellKind{}
	for _, row := range tab.body {
		for i, c := range row.cells {
			if c.text != "" {
				got[fmt.Sprintf("%s%d", columnName(i+1), row.line)] = c.kind
			}
		}
	}
	want := map[string]cellKind{
		"A2": kindText, "B2": kindDate, "A3": kindText, "B3": kindNumber, "C3": kindDate,
		"A4": kindText, "B4": kindBool, "C4": kindError, "A6": kindText, "C6": kindDate,
		"A7": kindText, "B7": kindDate, "D7": kindNumber, "A9": kindText,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("kinds = %v, want %v", got, want)
	}
	if dom := excelizeKinds(t, data, got); fmt.Sprint(got) != fmt.Sprint(dom) {
		t.Errorf("kinds = %v, excelize's %v", got, dom)
	}
	if c := tab.body[4].cells[3]; tab.body[4].line != 7 || c.text != "447700900000" {
		t.Errorf("D7 = %q, want the number in plain digits", c.text)
	}
}

// excelizeKinds types the cells named in cells as the reader did when it
// loaded the sheet.
func excelizeKinds(t *testing.T, data []byte, cells map[string]cellKind) map[string]cellKind {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	out := map[string]cellKind{}
	for name := range cells {
		typ, err := f.GetCellType(sheet, name)
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case excelize.CellTypeBool:
			out[name] = kindBool
		case excelize.CellTypeDate:
			out[name] = kindDate
		case excelize.CellTypeError:
			out[name] = kindError
		case excelize.CellTypeNumber, excelize.CellTypeUnset:
			id, err := f.GetCellStyle(sheet, name)
			if err != nil {
				t.Fatal(err)
			}
			style, err := f.GetStyle(id)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = kindNumber
			if isDateFormat(style.NumFmt, style.CustomNumFmt) {
				out[name] = kindDate
			}
		default:
			out[name] = kindText
		}
	}
	return out
}

func TestReadXLSXRefusesDeepNesting(t *testing.T) {
	const depth = 1 << 20
	sheet := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>authid</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>ada</t></is></c></row>` +
		strings.Repeat("<a>", depth) + strings.Repeat("</a>", depth) + `</sheetData></worksheet>`
	data := replacePart(t, xlsxFile(t, func(*excelize.File, string) {}), "xl/worksheets/sheet1.xml", sheet)
	rows, alloc, err := readMeasured(t, data, FormatXLSX)
	if alloc > maxReadAlloc {
		t.Errorf("reading the %d-byte file allocated %d MiB", len(data), alloc>>20)
	}
	if err == nil || !strings.Contains(err.Error(), "nests elements more than 64 deep") {
		t.Fatalf("read %d rows, err %v; want the sheet refused for its nesting", len(rows), err)
	}
}

// FuzzCSVWidth checks csvTooWide against encoding/csv: of a file csv
// reads, it refuses the first record of more than maxColumns fields, by
// the line csv gives it, and nothing else.
func FuzzCSVWidth(f *testing.F) {
	f.Add([]byte("authid,name\nada,\"A,da\"\n"))
	f.Add([]byte("a\n\"b\nc\"\"\n,\"" + strings.Repeat(",", 70) + "\"\n" + strings.Repeat(",", 64) + "\r\n"))
	f.Add([]byte("a\r\n\r\n" + strings.Repeat("\"\",", 64) + "x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		want := ""
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return // malformed: csv's error is the file's
			}
			if len(rec) > maxColumns {
				line, _ := cr.FieldPos(0)
				want = fmt.Sprintf("line %d has more than", line)
				break
			}
		}
		err := csvTooWide(data)
		switch {
		case want == "" && err != nil:
			t.Fatalf("csvTooWide = %v; csv reads no record over %d fields", err, maxColumns)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Fatalf("csvTooWide = %v, want an error saying %q", err, want)
		}
	})
}
