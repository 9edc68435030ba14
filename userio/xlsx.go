package userio

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
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
	part, err := sheetXML(f, sheet)
	if err != nil {
		return table{}, err
	}
	if err := checkDepth(f, part); err != nil {
		return table{}, fmt.Errorf("read sheet %q: %w", sheet, err)
	}
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
		// Columns pads a row with empty strings up to its last value: one
		// value in column XFD is 16384 of them. That slice is garbage once
		// refused, but kept as cells row after row it was gigabytes.
		if len(values) > maxColumns {
			return table{}, tooWide(fmt.Sprintf("row %d reaches column %s", line, columnName(len(values))))
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

	// Second pass, streaming too: what each non-empty cell is, since a
	// spreadsheet turns typed numbers, dates and TRUE into something other
	// than text.
	if err := fillKinds(f, part, &t); err != nil {
		return table{}, fmt.Errorf("read sheet %q: %w", sheet, err)
	}
	return t, nil
}

// maxXMLDepth bounds how deeply a sheet's XML elements nest: a cell's
// rich text is 8 deep, extensions a few more. encoding/xml's Token, which
// excelize's Rows reads with, keeps a record of every open element: 28 MB
// of nested elements, 34 KB zipped, took 2 GB and half a minute.
const maxXMLDepth = 64

// checkDepth refuses an XML part nested deeper than maxXMLDepth. RawToken
// keeps no record of open elements: the depth is counted here.
func checkDepth(f *excelize.File, part []byte) error {
	d := xml.NewDecoder(bytes.NewReader(part))
	d.CharsetReader = f.CharsetReader
	depth := 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxXMLDepth {
				return fmt.Errorf("its XML nests elements more than %d deep, which no spreadsheet program writes", maxXMLDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// columnName is the letters of column n as a spreadsheet shows them (1 is
// A, 16384 XFD).
func columnName(n int) string {
	name, err := excelize.ColumnNumberToName(n)
	if err != nil {
		return fmt.Sprint(n) // past XFD: cells without a reference count on
	}
	return name
}

// fillKinds sets the kind of every non-empty cell of t.body from the
// sheet's XML part, read one element at a time. excelize's GetCellType and
// GetCellStyle would load the whole sheet instead, every row padded with
// a cell struct for each column up to its last cell, even an empty one:
// a sheet of short rows that each end with an empty cell in column XFD,
// kilobytes zipped and all of them under the width and row limits, took
// gigabytes.
//
// Cells are typed as excelize types them, but for a cell of a merged
// range, typed by its own element rather than the range's first cell: the
// cells of a merged range past its first hold no value to type.
func fillKinds(f *excelize.File, part []byte, t *table) error {
	byLine := make(map[int]*rawRow, len(t.body))
	for i := range t.body {
		byLine[t.body[i].line] = &t.body[i]
	}
	kinds := cellKinds{f: f, dates: map[int]bool{}}
	d := xml.NewDecoder(bytes.NewReader(part))
	d.CharsetReader = f.CharsetReader
	var (
		// open names the elements open, from the root: no more than
		// maxXMLDepth (checkDepth has read this part).
		open                []string
		line, col, rowStyle int
		row                 *rawRow
	)
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, ok := tok.(xml.EndElement); ok && len(open) > 0 {
			open = open[:len(open)-1]
			continue
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		parents := open
		open = append(open, el.Name.Local)
		// Matched by local name and place, as excelize decodes a sheet:
		// whatever the prefix, and nothing of the same name elsewhere.
		switch {
		case el.Name.Local == "col" && below(parents, "cols"):
			kinds.addColumnStyle(el.Attr)
		case el.Name.Local == "row" && below(parents, "sheetData"):
			// Numbered as excelize's Rows numbers them: by the row's r,
			// and one past the previous row when it has none or goes back.
			line++
			if r, err := strconv.Atoi(attr(el.Attr, "r")); err == nil && r > line {
				line = r
			}
			col, row = 0, byLine[line]
			rowStyle, _ = strconv.Atoi(attr(el.Attr, "s"))
		case el.Name.Local == "c" && below(parents, "sheetData", "row"):
			col++
			if ref := attr(el.Attr, "r"); ref != "" {
				if col, _, err = excelize.CellNameToCoordinates(ref); err != nil {
					return fmt.Errorf("row %d: %w", line, err)
				}
			}
			if row == nil || col > len(row.cells) || row.cells[col-1].text == "" {
				continue
			}
			style, _ := strconv.Atoi(attr(el.Attr, "s"))
			if err := kinds.fill(&row.cells[col-1], attr(el.Attr, "t"), kinds.style(style, rowStyle, col)); err != nil {
				return fmt.Errorf("cell %s%d: %w", columnName(col), line, err)
			}
		}
	}
}

// below reports whether the elements open, from the root, are the root
// and then names.
func below(open []string, names ...string) bool {
	return len(open) == len(names)+1 && slices.Equal(open[1:], names)
}

func attr(attrs []xml.Attr, local string) string {
	for _, a := range attrs {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

type cellKinds struct {
	f *excelize.File
	// columnStyles are the styles of the sheet's columns, which a cell
	// without its own style takes when its row has none either, as in
	// excelize; only the columns a users file may have.
	columnStyles [maxColumns + 1]int
	dates        map[int]bool // style ID -> whether its number format shows a date
}

// addColumnStyle notes the style of a <col> element's columns; the first
// element naming a column wins, as in excelize.
func (ck *cellKinds) addColumnStyle(attrs []xml.Attr) {
	low, err1 := strconv.Atoi(attr(attrs, "min"))
	high, err2 := strconv.Atoi(attr(attrs, "max"))
	style, err3 := strconv.Atoi(attr(attrs, "style"))
	if err1 != nil || err2 != nil || err3 != nil || style == 0 {
		return
	}
	for c := max(low, 1); c <= min(high, maxColumns); c++ {
		if ck.columnStyles[c] == 0 {
			ck.columnStyles[c] = style
		}
	}
}

// style is a cell's style: its own, else its row's, else its column's.
func (ck *cellKinds) style(cell, row, col int) int {
	switch {
	case cell != 0:
		return cell
	case row != 0:
		return row
	}
	return ck.columnStyles[col]
}

// fill sets the cell's kind from its type attribute and style and, for a
// number, its text in plain decimal digits.
func (ck *cellKinds) fill(c *cell, typ string, style int) error {
	switch typ {
	case "b":
		c.kind = kindBool
		c.text = strings.ToUpper(strconv.FormatBool(c.text == "1"))
	case "d":
		c.kind = kindDate
	case "e":
		c.kind = kindError
	case "s", "str", "inlineStr":
		// Text: a shared string, a formula's text or an inline string.
	default:
		// A number: "n", no type, or one excelize does not know.
		date, err := ck.isDate(style)
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

func (ck *cellKinds) isDate(id int) (bool, error) {
	if date, ok := ck.dates[id]; ok {
		return date, nil
	}
	style, err := ck.f.GetStyle(id)
	if err != nil {
		return false, fmt.Errorf("read style %d: %w", id, err)
	}
	date := isDateFormat(style.NumFmt, style.CustomNumFmt)
	ck.dates[id] = date
	return date, nil
}

// sheetXML is the XML part of the sheet named name, found as excelize
// finds it: the workbook's relationship that the sheet's r:id names, its
// target relative to the workbook's folder. The parts are those excelize
// unzipped, within the unzip limit, into f.Pkg.
func sheetXML(f *excelize.File, name string) ([]byte, error) {
	rels, _ := findElement(f, "_rels/.rels", "Relationship", func(attrs []xml.Attr) bool {
		return strings.HasSuffix(attr(attrs, "Type"), "/officeDocument")
	})
	workbook := strings.TrimPrefix(attr(rels, "Target"), "/")
	sheet, ok := findElement(f, workbook, "sheet", func(attrs []xml.Attr) bool {
		return strings.EqualFold(attr(attrs, "name"), name)
	})
	var id string
	for _, a := range sheet {
		if a.Name.Local == "id" && a.Name.Space != "" { // r:id
			id = a.Value
		}
	}
	if !ok || id == "" {
		return nil, fmt.Errorf("read sheet %q: the workbook names no part for it", name)
	}
	rel, ok := findElement(f, path.Join(path.Dir(workbook), "_rels", path.Base(workbook)+".rels"), "Relationship",
		func(attrs []xml.Attr) bool { return attr(attrs, "Id") == id })
	target := strings.ReplaceAll(attr(rel, "Target"), "\\", "/")
	p := path.Join(path.Dir(workbook), target)
	if strings.HasPrefix(target, "/") {
		p = strings.TrimPrefix(path.Clean(target), "/")
	}
	part, found := f.Pkg.Load(p)
	data, isBytes := part.([]byte)
	if !ok || !found || !isBytes {
		return nil, fmt.Errorf("read sheet %q: the workbook has no part %q for it", name, p)
	}
	return data, nil
}

// findElement returns the attributes of the first element named local of
// the package part name for which match holds, reading no further.
func findElement(f *excelize.File, name, local string, match func([]xml.Attr) bool) ([]xml.Attr, bool) {
	part, _ := f.Pkg.Load(name)
	data, _ := part.([]byte)
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = f.CharsetReader
	for {
		tok, err := d.RawToken()
		if err != nil {
			return nil, false
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == local && match(el.Attr) {
			return el.Attr, true
		}
	}
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
