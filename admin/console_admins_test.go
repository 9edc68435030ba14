package admin

import (
	"slices"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/userio"
)

func TestKeepConsoleAdminsRefusesToRemoveTheLastOne(t *testing.T) {
	console := []userio.Assignment{{System: "console", Method: "pin"}}
	current := map[string]userio.Record{
		"root": {AuthID: "root", Status: userio.StatusActive, Systems: console},
		"ops":  {AuthID: "ops", Status: userio.StatusDisabled, Systems: console},
		"ada":  {AuthID: "ada", Status: userio.StatusActive},
	}
	change := func(r userio.Record, errs ...string) userio.Change {
		return userio.Change{Row: userio.Row{Record: r, Errors: errs}, Action: userio.ActionUpdate, Result: r}
	}
	cases := []struct {
		name    string
		changes []userio.Change
		refused []string // authids whose row gets the error
	}{
		{"disabling the last one", []userio.Change{change(userio.Record{AuthID: "root", Status: userio.StatusDisabled, Systems: console})}, []string{"root"}},
		{"unassigning the last one", []userio.Change{change(userio.Record{AuthID: "root", Status: userio.StatusActive})}, []string{"root"}},
		{"handing over in the same file", []userio.Change{
			change(userio.Record{AuthID: "root", Status: userio.StatusActive}),
			change(userio.Record{AuthID: "ada", Status: userio.StatusActive, Systems: console}),
		}, nil},
		{"handing over to a row in error does not count", []userio.Change{
			change(userio.Record{AuthID: "root", Status: userio.StatusActive}),
			change(userio.Record{AuthID: "ada", Status: userio.StatusActive, Systems: console}, "bad email"),
		}, []string{"root"}},
		{"re-enabling another one", []userio.Change{
			change(userio.Record{AuthID: "root", Status: userio.StatusDisabled, Systems: console}),
			change(userio.Record{AuthID: "ops", Status: userio.StatusActive, Systems: console}),
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			KeepConsoleAdmins(c.changes, current)
			var got []string
			for _, ch := range c.changes {
				for _, e := range ch.Errors {
					if strings.Contains(e, "without an active user of system \"console\"") {
						got = append(got, ch.AuthID)
					}
				}
			}
			if !slices.Equal(got, c.refused) {
				t.Fatalf("refused rows = %v, want %v", got, c.refused)
			}
		})
	}
	// No holder before: nothing to keep.
	none := []userio.Change{change(userio.Record{AuthID: "ada", Status: userio.StatusDisabled})}
	KeepConsoleAdmins(none, map[string]userio.Record{"ada": {AuthID: "ada", Status: userio.StatusActive}})
	if len(none[0].Errors) != 0 {
		t.Fatalf("errors without any holder: %v", none[0].Errors)
	}
}
