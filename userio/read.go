package userio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// File formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// Default limits: a file of 10 000 users with long names fits both.
const (
	DefaultMaxBytes = 5 << 20
	DefaultMaxRows  = 10_000
)

// maxColumns bounds how wide a file may be, its header and every row. A
// users file has len(columns()) columns and anything past them is a row
// error anyway; the bound leaves room for a few notes beside them while
// refusing, before their cells are kept, a spreadsheet row whose one value
// sits in the last column (XFD, the 16384th, which the row is read padded
// up to) or a CSV line of thousands of commas.
const maxColumns = 64

// tooWide refuses a file with a row wider than maxColumns; what says which
// row and how wide.
func tooWide(what string) error {
	return fmt.Errorf("%s; a users file may be at most %d columns wide, its columns are %s",
		what, maxColumns, strings.Join(headerRow(), ","))
}

// ErrTooLarge is returned, wrapped with which limit, when a file exceeds
// Limits.
var ErrTooLarge = errors.New("file too large")

// Limits bound what Read accepts; zero fields take the defaults.
type Limits struct {
	MaxBytes int64
	MaxRows  int // rows of users, the header not counted
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	return l
}

// Column names, in the order Write puts them, as a header is read: trimmed
// and in lower case.
const (
	ColAuthID  = "authid"
	ColName    = "name"
	ColEmail   = "email"
	ColPhone   = "phone"
	ColStatus  = "status"
	ColSystems = "systems"
	// ColEmailLogin is the user's switch for sign-in with email and
	// password, Y or N.
	ColEmailLogin = "email login enabled"
	// ColOrganisation is the id of the organisation the user belongs to;
	// an empty cell, or no column, means the organisation imported into.
	// It comes last so that the columns before it keep their places in
	// files written before it existed.
	ColOrganisation = "organisation"
)

// columns lists every column in file order.
func columns() []string {
	return []string{ColAuthID, ColName, ColEmail, ColPhone, ColStatus, ColSystems, ColEmailLogin, ColOrganisation}
}

// headerRow is the header row Write puts, each column as people read it.
func headerRow() []string {
	out := columns()
	for i, c := range out {
		switch c {
		case ColEmailLogin:
			out[i] = "Email login enabled"
		case ColOrganisation:
			out[i] = "Organisation"
		}
	}
	return out
}

// Cells of the email login column.
const (
	Yes = "Y"
	No  = "N"
)

// Columns is the set of columns a file has. Only authid is required: a
// column the file lacks leaves that field of existing users alone.
type Columns map[string]bool

// Has reports whether the file has column name.
func (c Columns) Has(name string) bool { return c[name] }

// Record is one user as a file holds it.
type Record struct {
	AuthID  string
	Name    string
	Email   string
	Phone   string
	Status  string // active or disabled; an empty cell reads as active
	Systems []Assignment
	// EmailLogin is the switch for sign-in with email and password: Y or
	// N in a file, an empty cell reads as N.
	EmailLogin bool
	// Organisation is the id of the user's organisation; empty in a file
	// means the organisation the file is imported into.
	Organisation string
}

// Row is one user row of a file.
type Row struct {
	Line int // the row's line (CSV) or row number (XLSX); the header is 1
	Record
	Columns Columns  // the file's columns, the same for every row
	Errors  []string // what is wrong with the row; empty when it can be imported
}

// Read parses a CSV or XLSX file of users. The file's own problems (not
// CSV or XLSX, no header, unknown columns, over the limits) are its error,
// wrapping ErrTooLarge for the limits; problems of single rows are in
// their Row.Errors, so that a preview can show them all.
func Read(r io.Reader, format string, limits Limits) ([]Row, error) {
	limits = limits.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, limits.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read file: %w", err)
	}
	if int64(len(data)) > limits.MaxBytes {
		return nil, fmt.Errorf("%w: the file exceeds %d bytes", ErrTooLarge, limits.MaxBytes)
	}
	var t table
	switch format {
	case FormatCSV:
		t, err = readCSV(data, limits)
	case FormatXLSX:
		t, err = readXLSX(data, limits)
	default:
		return nil, fmt.Errorf("format %q is not %s or %s", format, FormatCSV, FormatXLSX)
	}
	if err != nil {
		return nil, err
	}
	return t.rows()
}

// cellKind is what a spreadsheet cell held before it became text.
type cellKind int

const (
	kindText cellKind = iota
	kindNumber
	kindBool
	kindDate
	kindError
)

type cell struct {
	text string
	kind cellKind
}

type rawRow struct {
	line  int
	cells []cell
}

// table is a file read into cells, before any field check.
type table struct {
	header []string
	body   []rawRow
	// fullRows is set when every row must have as many cells as the
	// header: a CSV row with fewer was cut short, while a spreadsheet
	// leaves out trailing empty cells.
	fullRows bool
}

func (r rawRow) empty() bool {
	return !slices.ContainsFunc(r.cells, func(c cell) bool { return c.text != "" })
}

var utf8BOM = []byte("\xEF\xBB\xBF")

func readCSV(data []byte, limits Limits) (table, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return table{}, errors.New("the file is a zip archive such as XLSX, not CSV; import it as xlsx")
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:invalidUTF8At(data)], []byte("\n"))
		return table{}, fmt.Errorf("line %d is not UTF-8 text; save the file as CSV UTF-8", line)
	}
	if err := csvTooWide(data); err != nil {
		return table{}, err
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // rows with a wrong field count are row errors, not the file's
	t := table{fullRows: true}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return table{}, fmt.Errorf("malformed CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if t.header == nil {
			t.header = rec
			continue
		}
		if err := t.add(line, rec, limits); err != nil {
			return table{}, err
		}
	}
	if t.header == nil {
		return table{}, errors.New("the file is empty; want a header row: " + strings.Join(headerRow(), ","))
	}
	return t, nil
}

// csvTooWide refuses the first record of more than maxColumns fields
// before encoding/csv reads it: csv keeps some 40 bytes per field of a
// record it reads, so that a line of 5 MB of commas would take 200 MB.
// Quotes are followed as csv follows them in a well-formed file (a quote
// opens a field only at its start, "" within it is a quote); in a
// malformed one csv reports its own error.
func csvTooWide(data []byte) error {
	line, start, fields := 1, 1, 1 // start: the line the record began on
	fieldStart, quoted := true, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if quoted {
			switch {
			case c == '"' && i+1 < len(data) && data[i+1] == '"':
				i++
			case c == '"':
				quoted = false
			case c == '\n':
				line++
			}
			continue
		}
		switch c {
		case ',':
			if fields++; fields > maxColumns {
				return tooWide(fmt.Sprintf("line %d has more than %d fields", start, maxColumns))
			}
			fieldStart = true
			continue
		case '\n':
			line++
			start, fields, fieldStart = line, 1, true
			continue
		case '"':
			quoted = fieldStart
		}
		fieldStart = false
	}
	return nil
}

func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// add appends a body row of values read at line, skipping an empty one.
func (t *table) add(line int, values []string, limits Limits) error {
	row := rawRow{line: line, cells: make([]cell, len(values))}
	for i, v := range values {
		row.cells[i] = cell{text: v}
	}
	if row.empty() {
		return nil
	}
	if len(t.body) == limits.MaxRows {
		return tooManyRows(limits)
	}
	t.body = append(t.body, row)
	return nil
}

func tooManyRows(limits Limits) error {
	return fmt.Errorf("%w: the file has more than %d user rows", ErrTooLarge, limits.MaxRows)
}

// rows checks the header and every row's fields.
func (t table) rows() ([]Row, error) {
	index, cols, err := headerIndex(t.header)
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(t.body))
	// The same authid in two organisations is two users.
	type key struct{ organisation, authid string }
	first := map[key]int{} // line of each user's first row
	for _, raw := range t.body {
		row := Row{Line: raw.line, Columns: cols}
		switch {
		case len(raw.cells) > len(t.header):
			row.Errors = append(row.Errors, fmt.Sprintf("the row has %d cells, the header only %d", len(raw.cells), len(t.header)))
		case t.fullRows && len(raw.cells) < len(t.header):
			row.Errors = append(row.Errors, fmt.Sprintf("the row has %d cells, the header %d", len(raw.cells), len(t.header)))
		}
		for _, name := range columns() { // in a fixed order, so are the errors
			i, ok := index[name]
			if !ok {
				continue
			}
			var c cell
			if i < len(raw.cells) {
				c = raw.cells[i]
			}
			row.set(name, c)
		}
		if row.AuthID != "" {
			k := key{row.Organisation, row.AuthID}
			switch line, dup := first[k]; {
			case !dup:
				first[k] = row.Line
			case row.Organisation != "":
				row.Errors = append(row.Errors, fmt.Sprintf("authid %q of organisation %q is already on line %d", row.AuthID, row.Organisation, line))
			default:
				row.Errors = append(row.Errors, fmt.Sprintf("authid %q is already on line %d", row.AuthID, line))
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// headerIndex maps each known column to its position.
func headerIndex(header []string) (map[string]int, Columns, error) {
	index := map[string]int{}
	cols := Columns{}
	var unknown []string
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case name == "" && i == len(header)-1:
			// A trailing empty header cell (a trailing comma) holds nothing.
		case !slices.Contains(columns(), name):
			unknown = append(unknown, fmt.Sprintf("%q", h))
		case cols[name]:
			return nil, nil, fmt.Errorf("the header names column %q twice", name)
		default:
			index[name] = i
			cols[name] = true
		}
	}
	if len(unknown) > 0 {
		return nil, nil, fmt.Errorf("the header has unknown columns %s; the columns are %s",
			strings.Join(unknown, ", "), strings.Join(headerRow(), ","))
	}
	if !cols[ColAuthID] {
		return nil, nil, fmt.Errorf("the header has no authid column; the columns are %s", strings.Join(headerRow(), ","))
	}
	return index, cols, nil
}

// set reads one cell into the row's field, noting what is wrong with it.
func (row *Row) set(column string, c cell) {
	if problem := c.problem(); problem != "" {
		row.Errors = append(row.Errors, column+": "+problem)
		return
	}
	v := unescapeCell(c.text)
	var err error
	switch column {
	case ColAuthID:
		row.AuthID = v
		err = CheckAuthID(v)
	case ColName:
		row.Name = v
		err = CheckName(v)
	case ColEmail:
		row.Email = strings.TrimSpace(v)
		err = CheckEmail(row.Email)
	case ColPhone:
		row.Phone = strings.TrimSpace(v)
		if err = CheckPhone(row.Phone); err != nil && c.kind == kindNumber {
			err = fmt.Errorf("%w (the cell is a number, which loses the '+': format the column as text)", err)
		}
	case ColStatus:
		row.Status = strings.ToLower(strings.TrimSpace(v))
		if row.Status == "" {
			row.Status = StatusActive
		}
		err = CheckStatus(row.Status)
	case ColSystems:
		var problems []string
		row.Systems, problems = ParseSystems(v)
		row.Errors = append(row.Errors, problems...)
	case ColEmailLogin:
		row.EmailLogin, err = ParseYesNo(v)
	case ColOrganisation:
		row.Organisation = strings.TrimSpace(v)
		err = CheckOrganisation(row.Organisation)
	}
	if err != nil {
		row.Errors = append(row.Errors, err.Error())
	}
}

// problem says why a spreadsheet cell cannot be read as text.
func (c cell) problem() string {
	switch c.kind {
	case kindBool:
		return fmt.Sprintf("a TRUE/FALSE cell (%s); want text", c.text)
	case kindDate:
		return fmt.Sprintf("a date cell (%s); want text", c.text)
	case kindError:
		return fmt.Sprintf("an error cell (%s); want text", c.text)
	}
	return ""
}
