package userio

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxUnzipFactor bounds how much larger than the file its unzipped parts
// may be: a few megabytes of XLSX must not unpack into gigabytes.
const xlsxUnzipFactor = 10

// readXLSX reads the workbook's first sheet. Cells are read as stored, not
// as displayed: a phone typed as a number shows as 4.47701E+11 but is
// stored as 447700900123, which is what the row gets (and then an error
// saying the '+' is lost).
func readXLSX(data []byte, limits Limits) (table, error) {
	unzip := limits.MaxBytes * xlsxUnzipFactor
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: unzip, UnzipXMLSizeLimit: unzip})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size exceeds") {
			return table{}, fmt.Errorf("%w: the workbook unpacks to more than %d bytes", ErrTooLarge, unzip)
		}
		return table{}, fmt.Errorf("the file is not an XLSX workbook: %w", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return table{}, errors.New("the workbook has no sheet")
	}
	sheet := sheets[0]
	rows, err := f.Rows(sheet)
	if err != nil {
		return table{}, fmt.Errorf("read sheet %q: %w", sheet, err)
	}
	defer rows.Close()

	// First pass, streaming: the values, stopping at the row limit before
	// the whole sheet is loaded.
	var t table
	headerSeen := false
	for line := 1; rows.Next(); line++ {
		values, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return table{}, fmt.Errorf("read sheet %q row %d: %w", sheet, line, err)
		}
		if !headerSeen {
			if len(values) == 0 {
				continue // blank rows above the header
			}
			t.header, headerSeen = values, true
			continue
		}
		if err := t.add(line, values, limits); err != nil {
			return table{}, err
		}
	}
	if err := rows.Error(); err != nil {
		return table{}, fmt.Errorf("read sheet %q: %w", sheet, err)
	}
	if !headerSeen {
		return table{}, fmt.Errorf("sheet %q is empty; want a header row: %s", sheet, strings.Join(columns(), ","))
	}

	// Second pass: what each non-empty cell is, since a spreadsheet
	// turns typed numbers, dates and TRUE into something other than text.
	types := cellTyper{f: f, sheet: sheet, dates: map[int]bool{}}
	for _, row := range t.body {
		for i := range row.cells {
			if row.cells[i].text == "" {
				continue
			}
			if err := types.fill(&row.cells[i], i+1, row.line); err != nil {
				return table{}, err
			}
		}
	}
	return t, nil
}

type cellTyper struct {
	f     *excelize.File
	sheet string
	dates map[int]bool // style ID -> whether its number format shows a date
}

// fill sets the cell's kind and, for a number, its text in plain decimal
// digits.
func (ct cellTyper) fill(c *cell, col, line int) error {
	name, err := excelize.CoordinatesToCellName(col, line)
	if err != nil {
		return fmt.Errorf("name cell at row %d column %d: %w", line, col, err)
	}
	typ, err := ct.f.GetCellType(ct.sheet, name)
	if err != nil {
		return fmt.Errorf("read cell %s: %w", name, err)
	}
	switch typ {
	case excelize.CellTypeBool:
		c.kind = kindBool
		c.text = strings.ToUpper(strconv.FormatBool(c.text == "1"))
	case excelize.CellTypeDate:
		c.kind = kindDate
	case excelize.CellTypeError:
		c.kind = kindError
	case excelize.CellTypeNumber, excelize.CellTypeUnset:
		// Unset is the default type: a number.
		date, err := ct.isDate(name)
		if err != nil {
			return err
		}
		if date {
			c.kind = kindDate
			return nil
		}
		c.kind = kindNumber
		c.text = plainNumber(c.text)
	}
	return nil
}

func (ct cellTyper) isDate(name string) (bool, error) {
	id, err := ct.f.GetCellStyle(ct.sheet, name)
	if err != nil {
		return false, fmt.Errorf("read style of cell %s: %w", name, err)
	}
	if date, ok := ct.dates[id]; ok {
		return date, nil
	}
	style, err := ct.f.GetStyle(id)
	if err != nil {
		return false, fmt.Errorf("read style %d of cell %s: %w", id, name, err)
	}
	date := isDateFormat(style.NumFmt, style.CustomNumFmt)
	ct.dates[id] = date
	return date, nil
}

// plainNumber writes a stored number without exponent: 4.477009E+11 as
// 447700900000. Integers written out in full are kept digit for digit,
// beyond what a float64 holds.
func plainNumber(raw string) string {
	if allDigits(strings.TrimPrefix(raw, "-")) {
		return raw
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return raw
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// isDateFormat reports whether a number format shows a date or time: the
// built-in date formats, or a custom one holding date or time codes
// outside quoted text, [colours] and escaped characters.
func isDateFormat(id int, custom *string) bool {
	if custom == nil {
		return id >= 14 && id <= 22 || id >= 27 && id <= 36 || id >= 45 && id <= 47 || id >= 50 && id <= 58
	}
	code := *custom
	for i := 0; i < len(code); i++ {
		switch ch := code[i]; ch {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			}
		case '[':
			if j := strings.IndexByte(code[i+1:], ']'); j >= 0 {
				i += j + 1
			}
		case '\\', '_', '*':
			i++ // the next character is literal, or padding
		case 'y', 'Y', 'm', 'M', 'd', 'D', 'h', 'H', 's', 'S':
			return true
		}
	}
	return false
}
