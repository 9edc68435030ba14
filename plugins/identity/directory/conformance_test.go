package directory_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flexauth/flexauth/plugins/plugintest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// directoryBin is the flexauth-directory executable built by TestMain. It
// is set once before any test runs and never written again.
var directoryBin string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, map[*string]string{&directoryBin: "github.com/flexauth/flexauth/plugins/identity/directory/cmd/flexauth-directory"}))
}

// TestConformance runs the identity conformance kit against the built
// plugin, as flexauth's host runs it. Ada's row is for every account, so
// the account-scoped lookup also exercises the fallback; carol's row is
// for another account, so she must be unknown at acme.
func TestConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.csv")
	const users = "authid,account,name,email,phone,groups,department,location\n" +
		"ada,,Ada Lovelace,ada@example.com,+15550100,admins;engineering,Research,London\n" +
		"carol,globex,Carol,carol@globex.example,,,,\n"
	if err := os.WriteFile(path, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	plugintest.RunIdentity(t, plugintest.IdentityTarget{
		Name:    "directory",
		Command: []string{directoryBin},
		Config:  map[string]string{"path": path},
		Known:   sdk.LookupRequest{Account: "acme", AuthID: "ada"},
		Want: sdk.Identity{
			Found: true, Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+15550100",
			Groups:     []string{"admins", "engineering"},
			Attributes: map[string]string{"department": "Research", "location": "London"},
		},
		Unknown: sdk.LookupRequest{Account: "acme", AuthID: "carol"},
	})
}
