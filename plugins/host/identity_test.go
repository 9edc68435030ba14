package host

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

const usersCSV = `authid,name,email,phone,groups,account,department
ada,Ada Lovelace,ada@example.com,+15550100,admins;engineering,,research
bob,Bob Global,bob@example.com,,staff,,
bob,Bob at Acme,bob@acme.example,,acme-staff,acme,sales
carol,Carol,carol@acme.example,,,acme,
`

// newDirectoryHost starts a Host running the built flexauth-directory
// plugin on a users file with content csv.
func newDirectoryHost(t *testing.T, csv string, mutate ...func(*Spec)) *Host {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Name: "people", Kind: sdk.KindIdentity, Command: []string{directoryBin}, Config: map[string]string{"path": path}}
	for _, m := range mutate {
		m(&spec)
	}
	h, err := New(discardLogger(), spec)
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func TestLookupThroughTheDirectoryPlugin(t *testing.T) {
	h := newDirectoryHost(t, usersCSV)
	tests := []struct {
		name string
		req  sdk.LookupRequest
		want sdk.Identity
	}{
		{"a user for every account is found with groups and attributes", sdk.LookupRequest{Account: "acme", AuthID: "ada"}, sdk.Identity{
			Found: true, Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+15550100",
			Groups: []string{"admins", "engineering"}, Attributes: map[string]string{"department": "research"},
		}},
		{"an account's own row wins over the shared one", sdk.LookupRequest{Account: "acme", AuthID: "bob"}, sdk.Identity{
			Found: true, Name: "Bob at Acme", Email: "bob@acme.example", Groups: []string{"acme-staff"}, Attributes: map[string]string{"department": "sales"},
		}},
		{"another account sees the shared row", sdk.LookupRequest{Account: "globex", AuthID: "bob"}, sdk.Identity{
			Found: true, Name: "Bob Global", Email: "bob@example.com", Groups: []string{"staff"},
		}},
		{"a row scoped to one account is invisible to another", sdk.LookupRequest{Account: "globex", AuthID: "carol"}, sdk.Identity{}},
		{"a row scoped to one account is found there", sdk.LookupRequest{Account: "acme", AuthID: "carol"}, sdk.Identity{
			Found: true, Name: "Carol", Email: "carol@acme.example",
		}},
		{"an unknown user is not found, without an error", sdk.LookupRequest{Account: "acme", AuthID: "mallory"}, sdk.Identity{}},
		{"authid is case-sensitive", sdk.LookupRequest{Account: "acme", AuthID: "Ada"}, sdk.Identity{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Lookup(t.Context(), "people", tt.req)
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("lookup = %+v\nwant     %+v", got, tt.want)
			}
		})
	}

	info, err := h.Info(t.Context(), "people")
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.Kind != sdk.KindIdentity || info.Name != "directory" || !reflect.DeepEqual(info.Capabilities, []string{sdk.CapabilityLookup}) {
		t.Errorf("info = %+v", info)
	}
}

func TestKilledIdentityPluginIsRelaunchedAndReconfigured(t *testing.T) {
	h := newDirectoryHost(t, usersCSV)
	req := sdk.LookupRequest{AuthID: "ada"}
	if _, err := h.Lookup(t.Context(), "people", req); err != nil {
		t.Fatalf("lookup: %v", err)
	}
	first := h.pid(t, "people")
	if first == 0 {
		t.Fatal("no plugin process after a lookup")
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin: %v", err)
	}
	h.waitExited(t, "people")

	// The directory refuses lookups until configured, so finding the user
	// also proves Configure ran again on the new process.
	id, err := h.Lookup(t.Context(), "people", req)
	if err != nil || !id.Found {
		t.Fatalf("lookup after kill = %+v, %v", id, err)
	}
	if second := h.pid(t, "people"); second == first || second == 0 {
		t.Fatalf("pid after relaunch = %d, want a new process (was %d)", second, first)
	}
}

func TestIdentityPluginErrors(t *testing.T) {
	th, err := New(discardLogger(), testIdentityPluginSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(th.Close)

	t.Run("a plugin dying mid-lookup is temporary and the next lookup relaunches it", func(t *testing.T) {
		_, err := th.Lookup(t.Context(), "test-identity", sdk.LookupRequest{AuthID: "crash"})
		if !errors.Is(err, sdk.ErrPluginExited) || errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("error = %v, want temporary ErrPluginExited", err)
		}
		id, err := th.Lookup(t.Context(), "test-identity", sdk.LookupRequest{Account: "acme", AuthID: "ada"})
		if err != nil || !id.Found || id.Attributes["account"] != "acme" {
			t.Fatalf("lookup after crash = %+v, %v", id, err)
		}
	})
	t.Run("the plugin's temporary error stays temporary", func(t *testing.T) {
		_, err := th.Lookup(t.Context(), "test-identity", sdk.LookupRequest{AuthID: "temporary"})
		if err == nil || errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "directory server unavailable") {
			t.Fatalf("error = %v, want the plugin's temporary error", err)
		}
	})
	t.Run("the plugin's permanent error stays permanent", func(t *testing.T) {
		_, err := th.Lookup(t.Context(), "test-identity", sdk.LookupRequest{AuthID: "permanent"})
		if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "authid malformed") {
			t.Fatalf("error = %v, want the plugin's permanent error", err)
		}
	})
	t.Run("a not-found answer carries no data", func(t *testing.T) {
		id, err := th.Lookup(t.Context(), "test-identity", sdk.LookupRequest{AuthID: "half-found"})
		if err != nil || !reflect.DeepEqual(id, sdk.Identity{}) {
			t.Fatalf("lookup = %+v, %v; want the zero Identity", id, err)
		}
	})
	t.Run("an identity plugin cannot be used to send", func(t *testing.T) {
		_, err := th.Send(t.Context(), "test-identity", email("att-1"))
		if !errors.Is(err, sdk.ErrWrongKind) || !errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("error = %v, want permanent ErrWrongKind", err)
		}
	})
}

func TestDirectoryRefusingItsFileIsPermanent(t *testing.T) {
	h := newDirectoryHost(t, "authid,name\nada,Ada\nada,Ada again\n")
	_, err := h.Lookup(t.Context(), "people", sdk.LookupRequest{AuthID: "ada"})
	if !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("error = %v, want permanent", err)
	}
	if !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "twice") {
		t.Errorf("error %q should name the duplicate and its line", err)
	}
	if pid := h.pid(t, "people"); pid != 0 {
		t.Errorf("a process (pid %d) is kept running with a refused configuration", pid)
	}
}

func TestDeliveryPluginConfiguredAsIdentityFailsClearly(t *testing.T) {
	h, err := New(discardLogger(), Spec{Name: "mail", Kind: sdk.KindIdentity, Command: []string{outboxBin}, Config: map[string]string{"path": filepath.Join(t.TempDir(), "o.jsonl")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	_, err = h.Lookup(t.Context(), "mail", sdk.LookupRequest{AuthID: "ada"})
	if !errors.Is(err, sdk.ErrWrongKind) || !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("error = %v, want permanent ErrWrongKind", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "is a delivery plugin, configured as identity") {
		t.Errorf("error %q should say what the plugin is and how it was configured", msg)
	}
	if pid := h.pid(t, "mail"); pid != 0 {
		t.Errorf("a process (pid %d) of the wrong kind is kept running", pid)
	}
}

func TestIdentityPluginConfiguredAsDeliveryFailsClearly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(path, []byte(usersCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := New(discardLogger(), Spec{Name: "people", Command: []string{directoryBin}, Config: map[string]string{"path": path}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	_, err = h.Send(t.Context(), "people", email("att-1"))
	if !errors.Is(err, sdk.ErrWrongKind) || !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("error = %v, want permanent ErrWrongKind", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "is an identity plugin, configured as delivery") {
		t.Errorf("error %q should say what the plugin is", msg)
	}
}

func TestCheckReportsTheKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(path, []byte(`[{"authid": "ada"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("an identity plugin checked without a kind is found to be one", func(t *testing.T) {
		res, err := Check(t.Context(), discardLogger(), Spec{Name: "check", Command: []string{directoryBin}, Config: map[string]string{"path": path}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Info.Kind != sdk.KindIdentity || res.Info.Name != "directory" ||
			!reflect.DeepEqual(res.Info.Capabilities, []string{sdk.CapabilityLookup}) || res.ConfigureErr != nil {
			t.Fatalf("check = %+v", res)
		}
	})
	t.Run("an identity plugin's configuration is checked", func(t *testing.T) {
		res, err := Check(t.Context(), discardLogger(), Spec{Name: "check", Kind: sdk.KindIdentity, Command: []string{directoryBin}, Config: map[string]string{"path": "users.csv"}})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(res.ConfigureErr, sdk.ErrPermanent) {
			t.Fatalf("a relative path was accepted: %+v", res)
		}
	})
	t.Run("a delivery plugin reports kind delivery", func(t *testing.T) {
		res, err := Check(t.Context(), discardLogger(), Spec{Name: "check", Command: []string{outboxBin}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Info.Kind != sdk.KindDelivery || len(res.Info.Capabilities) != 0 {
			t.Fatalf("check = %+v", res)
		}
	})
	t.Run("a kind that is set must be the plugin's", func(t *testing.T) {
		_, err := Check(t.Context(), discardLogger(), Spec{Name: "check", Kind: sdk.KindIdentity, Command: []string{outboxBin}})
		if !errors.Is(err, sdk.ErrWrongKind) || !strings.Contains(err.Error(), "is a delivery plugin") {
			t.Fatalf("error = %v, want ErrWrongKind saying it is a delivery plugin", err)
		}
	})
}

func TestNewRejectsAnUnknownKind(t *testing.T) {
	if _, err := New(discardLogger(), Spec{Name: "a", Kind: "oracle", Command: []string{"/bin/true"}}); err == nil || !strings.Contains(err.Error(), `kind "oracle"`) {
		t.Fatalf("New = %v, want an error naming the kind", err)
	}
}

func TestSignOnThroughAPluginWithoutTheCapabilityIsPermanent(t *testing.T) {
	h := newDirectoryHost(t, usersCSV)
	_, err := h.Authorize(t.Context(), "people", sdk.AuthorizeRequest{State: "s", Nonce: "n"})
	if !errors.Is(err, sdk.ErrPermanent) || errors.Is(err, sdk.ErrWrongKind) || !strings.Contains(err.Error(), "does not implement Authorize") {
		t.Errorf("authorize: error = %v, want permanent, not implemented", err)
	}
	_, err = h.Exchange(t.Context(), "people", sdk.ExchangeRequest{Code: "c"})
	if !errors.Is(err, sdk.ErrPermanent) || errors.Is(err, sdk.ErrWrongKind) || !strings.Contains(err.Error(), "does not implement Exchange") {
		t.Errorf("exchange: error = %v, want permanent, not implemented", err)
	}
	// The plugin is still fine for what it does offer.
	if id, err := h.Lookup(t.Context(), "people", sdk.LookupRequest{AuthID: "ada"}); err != nil || !id.Found {
		t.Errorf("lookup after refused sign-on = %+v, %v", id, err)
	}
}

func TestSignOnThroughADeliveryPluginIsTheWrongKind(t *testing.T) {
	spec := testPluginSpec(t)
	h, err := New(discardLogger(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	_, err = h.Authorize(t.Context(), spec.Name, sdk.AuthorizeRequest{})
	if !errors.Is(err, sdk.ErrWrongKind) || !errors.Is(err, sdk.ErrPermanent) {
		t.Errorf("authorize: error = %v, want permanent ErrWrongKind", err)
	}
	_, err = h.Exchange(t.Context(), spec.Name, sdk.ExchangeRequest{})
	if !errors.Is(err, sdk.ErrWrongKind) || !errors.Is(err, sdk.ErrPermanent) {
		t.Errorf("exchange: error = %v, want permanent ErrWrongKind", err)
	}
}
