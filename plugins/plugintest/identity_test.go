package plugintest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// directoryTarget runs the reference identity plugin on a users file
// holding ada; ada resolves to want.
func directoryTarget(t testing.TB, want sdk.Identity) IdentityTarget {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	csv := "authid,name,email,phone,groups,department\n" +
		"ada,Ada Lovelace,ada@example.com,+15550100,admins;engineering,research\n" +
		"bob,Bob,,,,\n"
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	return IdentityTarget{
		Name:    "directory",
		Command: []string{directoryBin},
		Config:  map[string]string{"path": path},
		Known:   sdk.LookupRequest{Account: "acme", AuthID: "ada"},
		Want:    want,
		Unknown: sdk.LookupRequest{Account: "acme", AuthID: "nobody"},
	}
}

var ada = sdk.Identity{
	Found: true, Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+15550100",
	Groups: []string{"admins", "engineering"}, Attributes: map[string]string{"department": "research"},
}

// TestDirectoryConforms runs the identity kit against the reference
// identity plugin: every check must pass on a correct plugin.
func TestDirectoryConforms(t *testing.T) {
	RunIdentity(t, directoryTarget(t, ada))
}

// TestIdentityChecksCatchDefects runs single identity checks against
// targets that are wrong in the way the check exists to catch.
func TestIdentityChecksCatchDefects(t *testing.T) {
	wrongName := ada
	wrongName.Name = "Augusta Ada King"
	wrongName.Groups = nil

	tests := []struct {
		name   string
		target func(t testing.TB) IdentityTarget
		check  func(testing.TB, *identityKit) error
		want   []string // in the error
	}{
		{
			name:   "a known user resolving to something else",
			target: func(t testing.TB) IdentityTarget { return directoryTarget(t, wrongName) },
			check:  checkKnown,
			want:   []string{`Name = "Ada Lovelace", want "Augusta Ada King"`, "Groups = "},
		},
		{
			name:   "concurrent lookups resolving to something else",
			target: func(t testing.TB) IdentityTarget { return directoryTarget(t, wrongName) },
			check:  checkConcurrentLookups,
			want:   []string{"20 of 20 concurrent lookups of Known", `want "Augusta Ada King"`},
		},
		{
			name: "an unknown user that is found",
			target: func(t testing.TB) IdentityTarget {
				tg := directoryTarget(t, ada)
				tg.Unknown.AuthID = "bob"
				return tg
			},
			check: checkUnknown,
			want:  []string{"Found = true, want false", `Name = "Bob", want ""`},
		},
		{
			name: "a delivery plugin: Info",
			target: func(t testing.TB) IdentityTarget {
				tg := directoryTarget(t, ada)
				tg.Command = []string{outboxBin}
				return tg
			},
			check: checkIdentityInfo,
			want:  []string{"plugin is of another kind", "is a delivery plugin, configured as identity"},
		},
		{
			name: "a delivery plugin: launched as delivery",
			target: func(t testing.TB) IdentityTarget {
				tg := directoryTarget(t, ada)
				tg.Command = []string{outboxBin}
				tg.Config = map[string]string{"path": filepath.Join(t.TempDir(), "outbox.jsonl")}
				return tg
			},
			check: checkWrongKind,
			want:  []string{"it answered the delivery protocol"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := newIdentityKit(t, tt.target(t))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.check(t, k)
			if err == nil {
				t.Fatal("check passed a defective target")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q, want it to mention %q", err, w)
				}
			}
			t.Logf("reported: %v", err)
		})
	}
}

// TestRunIdentityRefusesAnIncompleteTarget: a target that cannot prove
// anything is a mistake in the test, reported before any plugin starts.
func TestRunIdentityRefusesAnIncompleteTarget(t *testing.T) {
	err := IdentityTarget{Command: []string{directoryBin}}.validate()
	for _, want := range []string{"no Name", "no Known.AuthID", "no Unknown.AuthID", "same user", "Found false"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate() = %v, want it to mention %q", err, want)
		}
	}
}
