package secret

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestNewMasterKeyIsOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	path := filepath.Join(dir, "master.key")
	key, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("master.key is %04o, want 0600", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the key folder holds %d entries, want only master.key: %v", len(entries), entries)
	}
	again, err := LoadOrCreateMasterKey(path)
	if err != nil || !bytes.Equal(key, again) {
		t.Fatalf("reading the key back = %v, %v", again, err)
	}
}

func TestConcurrentCreatorsShareOneMasterKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateMasterKey(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("creator %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("creator %d got another key than creator 0", i)
		}
	}
}

func TestUnsafeMasterKeyFileIsRefused(t *testing.T) {
	keyFile := func(t *testing.T, mode os.FileMode) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "master.key")
		raw := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, MasterKeySize))
		if err := os.WriteFile(path, []byte(raw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	refused := func(t *testing.T, path string, uid int, want ...string) {
		t.Helper()
		key, err := loadOrCreateMasterKey(path, uid)
		if err == nil {
			t.Fatalf("the key was used: %x", key)
		}
		for _, w := range append(want, path) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o602, 0o666} {
		t.Run(fmt.Sprintf("mode %04o", mode), func(t *testing.T) {
			refused(t, keyFile(t, mode), os.Geteuid(), fmt.Sprintf("is mode %04o", mode), "chmod 600 ")
		})
	}
	t.Run("owner-only modes are accepted", func(t *testing.T) {
		for _, mode := range []os.FileMode{0o600, 0o400} {
			if _, err := loadOrCreateMasterKey(keyFile(t, mode), os.Geteuid()); err != nil {
				t.Errorf("mode %04o: %v", mode, err)
			}
		}
	})
	t.Run("a symbolic link", func(t *testing.T) {
		target := keyFile(t, 0o600)
		link := filepath.Join(t.TempDir(), "master.key")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		refused(t, link, os.Geteuid(), "symbolic link")
	})
	t.Run("a folder", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		refused(t, path, os.Geteuid(), "not a regular file")
	})
	t.Run("a file owned by another user", func(t *testing.T) {
		// As another user than the file's owner...
		path := keyFile(t, 0o600)
		refused(t, path, os.Geteuid()+1, "owned by uid", "chown")
		// ...and, where the test may chown (as root in CI), a file that
		// really belongs to someone else.
		if os.Geteuid() != 0 {
			return
		}
		other := keyFile(t, 0o600)
		if err := os.Chown(other, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateMasterKey(other); err == nil || !strings.Contains(err.Error(), "owned by uid 4242") {
			t.Fatalf("a key owned by uid 4242: err = %v", err)
		}
	})
}
