package userio

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// Write writes users as a file Read reads back unchanged: the header, then
// one row per user in the order given. Cells a spreadsheet program would
// run as a formula are escaped with a leading apostrophe.
func Write(w io.Writer, format string, users []Record) error {
	switch format {
	case FormatCSV:
		return writeCSV(w, users)
	case FormatXLSX:
		return writeXLSX(w, users)
	}
	return fmt.Errorf("format %q is not %s or %s", format, FormatCSV, FormatXLSX)
}

// cells is a record as a file row.
func (r Record) cells() []string {
	status := r.Status
	if status == "" {
		status = StatusActive
	}
	out := []string{r.AuthID, r.Name, r.Email, r.Phone, status, FormatSystems(r.Systems), FormatYesNo(r.EmailLogin), r.Organisation}
	for i := range out {
		out[i] = EscapeCell(out[i])
	}
	return out
}

func writeCSV(w io.Writer, users []Record) error {
	bw := bufio.NewWriter(w)
	// Excel reads a CSV file without a byte order mark in the local
	// code page, garbling every accented name.
	if _, err := bw.Write(utf8BOM); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write(headerRow()); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	for _, u := range users {
		if err := cw.Write(u.cells()); err != nil {
			return fmt.Errorf("write csv row for %q: %w", u.AuthID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// xlsxSheet names the one sheet of an export.
const xlsxSheet = "Users"

// xlsxTextFormat is the built-in number format "@", Text: what an admin
// types in the exported columns stays text, so a phone keeps its '+'.
const xlsxTextFormat = 49

func writeXLSX(w io.Writer, users []Record) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName(f.GetSheetName(0), xlsxSheet); err != nil {
		return fmt.Errorf("name sheet: %w", err)
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: xlsxTextFormat})
	if err != nil {
		return fmt.Errorf("create text style: %w", err)
	}
	sw, err := f.NewStreamWriter(xlsxSheet)
	if err != nil {
		return fmt.Errorf("stream sheet: %w", err)
	}
	if err := sw.SetColStyle(1, len(columns()), text); err != nil {
		return fmt.Errorf("style columns: %w", err)
	}
	if err := sw.SetColWidth(1, len(columns()), 24); err != nil {
		return fmt.Errorf("size columns: %w", err)
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("freeze header: %w", err)
	}
	row := func(line int, values []string) error {
		cells := make([]any, len(values))
		for i, v := range values {
			// Cells, not bare strings: a bare string such as "123" would
			// still be stored as text, but the style keeps later edits text.
			cells[i] = excelize.Cell{StyleID: text, Value: v}
		}
		name, err := excelize.CoordinatesToCellName(1, line)
		if err != nil {
			return err
		}
		return sw.SetRow(name, cells)
	}
	if err := row(1, headerRow()); err != nil {
		return fmt.Errorf("write xlsx header: %w", err)
	}
	for i, u := range users {
		if err := row(i+2, u.cells()); err != nil {
			return fmt.Errorf("write xlsx row for %q: %w", u.AuthID, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}
