package userio

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// What an import does with a row.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionUnchanged = "unchanged"
)

// Change is what importing one row does.
type Change struct {
	Row
	Action  string   // create, update or unchanged
	Changes []string // the columns whose value the row changes
	// Result is the user as the import leaves it: the current user with
	// the row's columns applied.
	Result Record
}

// OK reports whether the row can be imported.
func (c Change) OK() bool { return len(c.Errors) == 0 }

// Diff compares rows with the account's current users (by authid) and
// adds to each row the errors only the account reveals: a system that
// does not exist or does not enable the method. systems maps each of
// the account's systems to the methods it enables. Diff changes neither
// rows nor current.
func Diff(rows []Row, current map[string]Record, systems map[string][]string) []Change {
	out := make([]Change, len(rows))
	for i, row := range rows {
		row.Errors = slices.Clone(row.Errors)
		for _, a := range row.Systems {
			methods, ok := systems[a.System]
			switch {
			case !ok:
				row.Errors = append(row.Errors, fmt.Sprintf("system %q does not exist", a.System))
			case !slices.Contains(methods, a.Method):
				row.Errors = append(row.Errors, fmt.Sprintf("system %q does not enable method %q (it enables %s)",
					a.System, a.Method, strings.Join(methods, ", ")))
			}
		}
		cur, exists := current[row.AuthID]
		c := Change{Row: row}
		if !exists {
			c.Action = ActionCreate
			c.Result = Record{AuthID: row.AuthID, Status: StatusActive}
		} else {
			c.Result = cur
		}
		apply := func(column string, field *string, value string) {
			if !row.Columns.Has(column) || *field == value {
				return
			}
			// A new user's empty fields are no change worth listing.
			if exists || value != "" {
				c.Changes = append(c.Changes, column)
			}
			*field = value
		}
		apply(ColName, &c.Result.Name, row.Name)
		apply(ColEmail, &c.Result.Email, row.Email)
		apply(ColPhone, &c.Result.Phone, row.Phone)
		apply(ColStatus, &c.Result.Status, row.Status)
		if row.Columns.Has(ColSystems) && !sameSystems(c.Result.Systems, row.Systems) {
			c.Changes = append(c.Changes, ColSystems)
			c.Result.Systems = slices.Clone(row.Systems)
		}
		if row.Columns.Has(ColEmailLogin) && c.Result.EmailLogin != row.EmailLogin {
			if exists || row.EmailLogin {
				c.Changes = append(c.Changes, ColEmailLogin)
			}
			c.Result.EmailLogin = row.EmailLogin
		}
		if err := CheckEmailLogin(c.Result.EmailLogin, c.Result.Email); err != nil && (row.Columns.Has(ColEmailLogin) || row.Columns.Has(ColEmail)) {
			c.Errors = append(c.Errors, err.Error())
		}
		if exists {
			c.Action = ActionUnchanged
			if len(c.Changes) > 0 {
				c.Action = ActionUpdate
			}
		}
		out[i] = c
	}
	return out
}

// sameSystems compares assignments regardless of order.
func sameSystems(a, b []Assignment) bool {
	return maps.Equal(byName(a), byName(b))
}

func byName(as []Assignment) map[string]string {
	m := make(map[string]string, len(as))
	for _, a := range as {
		m[a.System] = a.Method
	}
	return m
}
