package userio

import (
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	current := map[string]Record{
		"ada": {AuthID: "ada", Name: "Ada", Email: "ada@example.com", Status: StatusActive,
			Systems: []Assignment{{"vpn", "pin"}, {"mail", "passwordless"}}},
		"bob": {AuthID: "bob", Name: "Bob", Phone: "+15555550100", Status: StatusActive},
	}
	systems := map[string][]string{"vpn": {"pin", "totp"}, "mail": {"passwordless"}}
	tests := []struct {
		name        string
		file        string
		wantAction  string
		wantChanges []string
		wantErrors  []string
		wantResult  Record
	}{
		{"the same user, systems in another order", "authid,name,email,phone,status,systems\nada,Ada,ada@example.com,,active,mail:passwordless;vpn:pin\n",
			ActionUnchanged, nil, nil, current["ada"]},
		{"a changed method", "authid,systems\nada,vpn:totp;mail:passwordless\n",
			ActionUpdate, []string{"systems"}, nil,
			Record{AuthID: "ada", Name: "Ada", Email: "ada@example.com", Status: StatusActive, Systems: []Assignment{{"vpn", "totp"}, {"mail", "passwordless"}}}},
		{"disabled, other columns absent and left alone", "authid,status\nbob,disabled\n",
			ActionUpdate, []string{"status"}, nil,
			Record{AuthID: "bob", Name: "Bob", Phone: "+15555550100", Status: StatusDisabled}},
		{"an empty status re-enables", "authid,status\nbob,\n", ActionUnchanged, nil, nil, current["bob"]},
		{"cleared contact data", "authid,email,phone\nbob,x@example.com,\n",
			ActionUpdate, []string{"email", "phone"}, nil,
			Record{AuthID: "bob", Name: "Bob", Email: "x@example.com", Status: StatusActive}},
		{"an empty systems cell removes them all", "authid,systems\nada,\n",
			ActionUpdate, []string{"systems"}, nil,
			Record{AuthID: "ada", Name: "Ada", Email: "ada@example.com", Status: StatusActive}},
		{"a new user", "authid,name,email,phone,status,systems\ncy,Cy,,,disabled,vpn:pin\n",
			ActionCreate, []string{"name", "status", "systems"}, nil,
			Record{AuthID: "cy", Name: "Cy", Status: StatusDisabled, Systems: []Assignment{{"vpn", "pin"}}}},
		{"a system the account lacks", "authid,systems\nada,wiki:pin\n",
			ActionUpdate, []string{"systems"}, []string{`system "wiki" does not exist`}, Record{}},
		{"email login turned on", "authid,Email login enabled\nada,Y\n",
			ActionUpdate, []string{"email login enabled"}, nil,
			Record{AuthID: "ada", Name: "Ada", Email: "ada@example.com", Status: StatusActive,
				Systems: []Assignment{{"vpn", "pin"}, {"mail", "passwordless"}}, EmailLogin: true}},
		{"email login N for a user who has it off", "authid,Email login enabled\nada,N\n",
			ActionUnchanged, nil, nil, current["ada"]},
		{"a new user with email login", "authid,email,Email login enabled\ncy,cy@example.com,Y\n",
			ActionCreate, []string{"email", "email login enabled"}, nil,
			Record{AuthID: "cy", Email: "cy@example.com", Status: StatusActive, EmailLogin: true}},
		{"email login for a user without email", "authid,Email login enabled\nbob,Y\n",
			ActionUpdate, []string{"email login enabled"}, []string{"email login needs an email address"}, Record{}},
		{"an unknown email login value", "authid,Email login enabled\nbob,maybe\n",
			ActionUnchanged, nil, []string{`email login enabled "maybe" is not Y or N`}, Record{}},
		{"a method the system does not enable", "authid,systems\ncy,mail:pin\n",
			ActionCreate, []string{"systems"}, []string{`system "mail" does not enable method "pin" (it enables passwordless)`}, Record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := readCSVString(t, tt.file, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			read := slices.Clone(rows[0].Errors)
			changes := Diff(rows, current, systems)
			if len(changes) != 1 {
				t.Fatalf("%d changes, want 1", len(changes))
			}
			c := changes[0]
			if c.Action != tt.wantAction || !slices.Equal(c.Changes, tt.wantChanges) {
				t.Errorf("action %s %v, want %s %v", c.Action, c.Changes, tt.wantAction, tt.wantChanges)
			}
			if len(c.Errors) != len(tt.wantErrors) || c.OK() != (len(tt.wantErrors) == 0) {
				t.Fatalf("errors %q, want %q", c.Errors, tt.wantErrors)
			}
			for i, w := range tt.wantErrors {
				if !strings.Contains(c.Errors[i], w) {
					t.Errorf("error %q does not say %q", c.Errors[i], w)
				}
			}
			if len(tt.wantErrors) == 0 && !equalRecords(c.Result, tt.wantResult) {
				t.Errorf("result %+v, want %+v", c.Result, tt.wantResult)
			}
			if !slices.Equal(rows[0].Errors, read) {
				t.Errorf("Diff changed the rows it was given: %q, read %q", rows[0].Errors, read)
			}
		})
	}
}
