package directory

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// logBuffer collects log lines; the reload loop writes from its own
// goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestDirectory(t *testing.T) (*Directory, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	d := NewWithLogger(slog.New(slog.NewTextHandler(logs, nil)))
	t.Cleanup(d.Close)
	return d, logs
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// touch gives path a distinct modification time, so a rewrite is seen as
// a change even on file systems with coarse timestamps.
func touch(t *testing.T, path string, n int) {
	t.Helper()
	mt := time.Date(2030, 1, 1, 0, 0, n, 0, time.UTC)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func lookupName(t *testing.T, d *Directory, authid string) string {
	t.Helper()
	id, err := d.Lookup(t.Context(), sdk.LookupRequest{Account: "acme", AuthID: authid})
	if err != nil {
		t.Fatalf("lookup %q: %v", authid, err)
	}
	return id.Name
}

func TestConfigureRefusesBadSettingsPermanently(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "users.csv")
	writeFile(t, good, "authid,name\nada,Ada\n")
	bad := filepath.Join(dir, "bad.csv")
	writeFile(t, bad, "name\nAda\n")

	tests := []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"no configuration", nil, `missing "path"`},
		{"relative path", map[string]string{"path": "users.csv"}, "not absolute"},
		{"unknown file type", map[string]string{"path": filepath.Join(dir, "users.yaml")}, "want a .csv or .json file"},
		{"missing file", map[string]string{"path": filepath.Join(dir, "missing.csv")}, "no such file"},
		{"file without an authid column", map[string]string{"path": bad}, `line 1: no "authid" column`},
		{"reload that is not a duration", map[string]string{"path": good, "reload": "often"}, `"reload": not a duration`},
		{"reload that is not positive", map[string]string{"path": good, "reload": "-1s"}, "must be positive"},
		{"unknown key", map[string]string{"path": good, "reload_every": "1s"}, `unknown key "reload_every"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := newTestDirectory(t)
			err := d.Configure(t.Context(), sdk.ConfigureRequest{Config: tt.config})
			if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("configure error = %v, want a permanent one containing %q", err, tt.want)
			}
		})
	}
}

func TestLookupBeforeConfigureIsRefused(t *testing.T) {
	d, _ := newTestDirectory(t)
	if _, err := d.Lookup(t.Context(), sdk.LookupRequest{AuthID: "ada"}); !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("lookup error = %v, want permanent", err)
	}
}

func TestLookupWithoutAuthIDIsRefused(t *testing.T) {
	d, _ := newTestDirectory(t)
	path := filepath.Join(t.TempDir(), "users.csv")
	writeFile(t, path, "authid,name\nada,Ada\n")
	if err := d.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"path": path}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lookup(t.Context(), sdk.LookupRequest{Account: "acme"}); !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("lookup error = %v, want permanent", err)
	}
}

func TestReloadKeepsTheLastGoodCopy(t *testing.T) {
	d, logs := newTestDirectory(t)
	path := filepath.Join(t.TempDir(), "users.csv")
	writeFile(t, path, "authid,name\nada,Ada\n")
	touch(t, path, 1)
	// No "reload": the test drives reload itself, deterministically.
	if err := d.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"path": path}}); err != nil {
		t.Fatal(err)
	}

	// An unchanged file is not re-read.
	d.reload()
	if strings.Contains(logs.String(), "reloaded") {
		t.Fatalf("an unchanged file was reloaded:\n%s", logs)
	}

	writeFile(t, path, "authid,name\nada,Ada v2\nbob,Bob\n")
	touch(t, path, 2)
	d.reload()
	if got := lookupName(t, d, "bob"); got != "Bob" {
		t.Fatalf("after a good change, bob = %q", got)
	}

	writeFile(t, path, "authid,name\nada,Ada v3\nada,Ada twice\n")
	touch(t, path, 3)
	d.reload()
	d.reload()
	if got := lookupName(t, d, "ada"); got != "Ada v2" {
		t.Fatalf("after a bad change, ada = %q, want the last good copy", got)
	}
	if n := strings.Count(logs.String(), "keeping the last good copy"); n != 1 {
		t.Fatalf("the bad file was logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "line 3") {
		t.Errorf("the log does not say where the file is bad:\n%s", logs)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	d.reload()
	if got := lookupName(t, d, "ada"); got != "Ada v2" {
		t.Fatalf("after the file vanished, ada = %q, want the last good copy", got)
	}
	if n := strings.Count(logs.String(), "keeping the last good copy"); n != 2 {
		t.Fatalf("the missing file was not logged (once):\n%s", logs)
	}

	writeFile(t, path, "authid,name\nada,Ada v4\n")
	touch(t, path, 4)
	d.reload()
	if got := lookupName(t, d, "ada"); got != "Ada v4" {
		t.Fatalf("after the file was fixed, ada = %q", got)
	}
}

func TestReloadRunsOnItsOwn(t *testing.T) {
	d, _ := newTestDirectory(t)
	path := filepath.Join(t.TempDir(), "users.json")
	writeFile(t, path, `[{"authid": "ada", "name": "Ada"}]`)
	touch(t, path, 1)
	if err := d.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"path": path, "reload": "10ms"}}); err != nil {
		t.Fatal(err)
	}
	// Configured twice, as after every relaunch: one reload loop remains.
	if err := d.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"path": path, "reload": "10ms"}}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, `[{"authid": "ada", "name": "Ada v2"}]`)
	touch(t, path, 2)
	deadline := time.Now().Add(5 * time.Second)
	for lookupName(t, d, "ada") != "Ada v2" {
		if time.Now().After(deadline) {
			t.Fatal("the changed file was not reloaded within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInfoDescribesAnIdentityPlugin(t *testing.T) {
	d, _ := newTestDirectory(t)
	info, err := d.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != Name || info.Version == "" || len(info.Capabilities) != 1 || info.Capabilities[0] != sdk.CapabilityLookup {
		t.Fatalf("info = %+v", info)
	}
}
