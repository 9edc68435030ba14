package directory

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// table is one parsed file. It is never modified after parsing, so lookups
// read it without a lock while a reload builds the next one.
type table struct {
	users map[userKey]user
}

// userKey scopes an authid to an account; account "" is a row for every
// account.
type userKey struct {
	account, authid string
}

type user struct {
	name, email, phone string
	groups             []string
	attributes         map[string]string
}

// lookup prefers the account's own row over one for every account, so an
// operator can override a shared entry for one account.
func (t *table) lookup(account, authid string) (user, bool) {
	if u, ok := t.users[userKey{account, authid}]; ok {
		return u, true
	}
	if account == "" {
		return user{}, false
	}
	u, ok := t.users[userKey{"", authid}]
	return u, ok
}

// identity copies u out of the table, so no caller can change a table that
// other lookups share.
func (u user) identity() sdk.Identity {
	return sdk.Identity{
		Found:      true,
		Name:       u.name,
		Email:      u.email,
		Phone:      u.phone,
		Groups:     slices.Clone(u.groups),
		Attributes: maps.Clone(u.attributes),
	}
}

// builder fills a table, remembering each row's line for error messages.
type builder struct {
	t     *table
	lines map[userKey]int
}

func newBuilder() *builder {
	return &builder{t: &table{users: make(map[userKey]user)}, lines: make(map[userKey]int)}
}

// add inserts u, refusing a second row for the same account and authid:
// which of the two is meant cannot be guessed, and picking one silently
// could hand a user someone else's groups.
func (b *builder) add(line int, account, authid string, u user) error {
	if authid == "" {
		return fmt.Errorf("line %d: authid is empty", line)
	}
	k := userKey{account, authid}
	if first, dup := b.lines[k]; dup {
		scope := ""
		if account != "" {
			scope = fmt.Sprintf(" for account %q", account)
		}
		return fmt.Errorf("line %d: authid %q appears twice%s (first on line %d)", line, authid, scope, first)
	}
	b.t.users[k], b.lines[k] = u, line
	return nil
}

// parse reads a file's content by its extension.
func parse(path string, data []byte) (*table, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return parseCSV(data)
	case ".json":
		return parseJSON(data)
	}
	return nil, fmt.Errorf("file %s: want a .csv or .json file", path)
}

// CSV column names with a meaning of their own; every other column is an
// attribute.
const (
	colAuthID  = "authid"
	colAccount = "account"
	colName    = "name"
	colEmail   = "email"
	colPhone   = "phone"
	colGroups  = "groups"
)

// groupSep separates groups in a CSV cell: commas already separate cells,
// and spreadsheet users know ';' from other list cells.
const groupSep = ";"

// parseCSV reads a header row and one row per user. Known columns are
// matched case-insensitively, since spreadsheets capitalise headers;
// attribute names are kept as written. Cells are trimmed, and empty
// attribute cells are left out: in a CSV every row has every column, and
// an empty one means "no value".
func parseCSV(data []byte) (*table, error) {
	// Spreadsheet exports often start with a UTF-8 byte order mark, which
	// would otherwise become part of the first column's name.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("line 1: no header row")
	}
	if err != nil {
		return nil, err
	}
	cols := make([]string, len(header))
	known := make(map[string]int)
	seen := make(map[string]bool)
	for i, h := range header {
		h = strings.TrimSpace(h)
		switch lower := strings.ToLower(h); lower {
		case colAuthID, colAccount, colName, colEmail, colPhone, colGroups:
			h = lower
			known[h] = i
		case "":
			return nil, fmt.Errorf("line 1: column %d has no name", i+1)
		}
		if seen[h] {
			return nil, fmt.Errorf("line 1: column %q appears twice", h)
		}
		seen[h] = true
		cols[i] = h
	}
	if _, ok := known[colAuthID]; !ok {
		return nil, fmt.Errorf("line 1: no %q column", colAuthID)
	}

	b := newBuilder()
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return b.t, nil
		}
		if err != nil {
			// csv.ParseError names the line itself.
			return nil, err
		}
		line, _ := r.FieldPos(0)
		cell := func(col string) string {
			if i, ok := known[col]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		u := user{
			name:   cell(colName),
			email:  cell(colEmail),
			phone:  cell(colPhone),
			groups: splitGroups(cell(colGroups)),
		}
		for i, col := range cols {
			if _, isKnown := known[col]; isKnown {
				continue
			}
			if v := strings.TrimSpace(rec[i]); v != "" {
				if u.attributes == nil {
					u.attributes = make(map[string]string)
				}
				u.attributes[col] = v
			}
		}
		if err := b.add(line, cell(colAccount), cell(colAuthID), u); err != nil {
			return nil, err
		}
	}
}

func splitGroups(cell string) []string {
	var groups []string
	for g := range strings.SplitSeq(cell, groupSep) {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	return groups
}

// jsonUser is one element of a JSON file. Unknown fields are refused: a
// misspelt "group" would otherwise silently drop someone's groups.
type jsonUser struct {
	Account    string            `json:"account"`
	AuthID     string            `json:"authid"`
	Name       string            `json:"name"`
	Email      string            `json:"email"`
	Phone      string            `json:"phone"`
	Groups     []string          `json:"groups"`
	Attributes map[string]string `json:"attributes"`
}

// parseJSON reads an array of users, element by element so that every
// error names the line of the element it is about.
func parseJSON(data []byte) (*table, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := expectDelim(dec, data, '['); err != nil {
		return nil, err
	}
	b := newBuilder()
	for dec.More() {
		line := lineOf(data, elementStart(data, dec.InputOffset()))
		var u jsonUser
		if err := dec.Decode(&u); err != nil {
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) {
				line = lineOf(data, syntax.Offset)
			}
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		err := b.add(line, strings.TrimSpace(u.Account), strings.TrimSpace(u.AuthID), user{
			name:       u.Name,
			email:      u.Email,
			phone:      u.Phone,
			groups:     slices.DeleteFunc(u.Groups, func(g string) bool { return g == "" }),
			attributes: u.Attributes,
		})
		if err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, data, ']'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: unexpected data after the array", lineOf(data, dec.InputOffset()))
	}
	return b.t, nil
}

// expectDelim reads the next token and checks that it is want.
func expectDelim(dec *json.Decoder, data []byte, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return fmt.Errorf("line %d: %w", lineOf(data, syntax.Offset), err)
		}
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("line %d: want %q, got the end of the file", lineOf(data, int64(len(data))), want)
		}
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("line %d: want %q, got %v: the file must be an array of users", lineOf(data, dec.InputOffset()), want, tok)
	}
	return nil
}

// elementStart skips the separator and white space between the decoder's
// offset (just after the previous token) and the next array element.
func elementStart(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(", \t\r\n", data[off]) >= 0 {
		off++
	}
	return off
}

// lineOf returns the 1-based line of byte offset off.
func lineOf(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}
