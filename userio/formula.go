package userio

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Spreadsheet programs run a cell as a formula when it starts with one of
// = + - @ (OWASP "CSV injection"). They also skip what comes before it
// when they read a file: blanks, control characters and invisible format
// characters (zero-width space, byte order mark), and some read the
// full-width forms ＝ ＋ － ＠ as the ASCII ones. A tab or carriage return
// as the first character is a separate trick: it changes how a cell is
// parsed.

// formulaStarts are the characters that make a cell a formula once what
// is skipped before them is gone, full-width forms included.
const formulaStarts = "=+-@\uFF1D\uFF0B\uFF0D\uFF20"

// EscapeCell makes a value safe to open in a spreadsheet program: a value
// that could run as a formula gets a leading apostrophe, which the
// programs show as text. Every export of cells (users, audit trail) goes
// through it.
//
// A value already starting with an apostrophe is escaped too, so that the
// import's unescapeCell gives back exactly what was exported: "'=x" goes
// out with two apostrophes and comes back with one.
func EscapeCell(v string) string {
	if needsEscape(v) {
		return "'" + v
	}
	return v
}

// unescapeCell removes the apostrophe EscapeCell added, and only that one:
// an apostrophe before anything else ("'Tis") is the value's own. For
// every v, unescapeCell(EscapeCell(v)) == v.
func unescapeCell(v string) string {
	if strings.HasPrefix(v, "'") && needsEscape(v[1:]) {
		return v[1:]
	}
	return v
}

// needsEscape reports whether EscapeCell prefixes v.
func needsEscape(v string) bool {
	first, _ := utf8.DecodeRuneInString(v)
	switch first {
	case '\'', '\t', '\r':
		return true
	}
	rest := strings.TrimLeftFunc(v, skippedBeforeFormula)
	r, size := utf8.DecodeRuneInString(rest)
	return size > 0 && strings.ContainsRune(formulaStarts, r)
}

// skippedBeforeFormula reports whether a spreadsheet program may skip r
// before the character that makes a cell a formula.
func skippedBeforeFormula(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}
