package host

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDiscoverListsExecutablesOnly(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	write("smtp", 0o755)
	write("webhook", 0o700)
	write("README.md", 0o644)
	write(".hidden", 0o755)
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "smtp"), filepath.Join(dir, "mail")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}

	folder, err := Discover(dir)
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	specs := folder.Plugins
	want := []Spec{
		{Name: "mail", Command: []string{filepath.Join(dir, "mail")}},
		{Name: "smtp", Command: []string{filepath.Join(dir, "smtp")}},
		{Name: "webhook", Command: []string{filepath.Join(dir, "webhook")}},
	}
	if !reflect.DeepEqual(specs, want) || folder.Dir != dir || len(folder.Refused) != 0 {
		t.Fatalf("folder = %+v\nwant plugins %+v", folder, want)
	}
}

func TestDiscoverMissingDirectoryFails(t *testing.T) {
	if _, err := Discover(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("Discover of a missing directory succeeded")
	}
}

func TestDiscoverRefusesExecutablesOthersCouldChange(t *testing.T) {
	// plugin writes an executable with mode in a fresh folder with
	// folderMode, and returns the folder.
	plugin := func(t *testing.T, name string, mode, folderMode os.FileMode) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "plugins")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		// Chmod, not the create mode: the umask would take bits away.
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, folderMode); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	// refused discovers dir as the user uid and wants one refusal saying
	// all of want.
	refused := func(t *testing.T, dir string, uid int, want ...string) {
		t.Helper()
		folder, err := discover(dir, uid)
		if err != nil {
			t.Fatal(err)
		}
		if len(folder.Plugins) != 0 || len(folder.Refused) != 1 {
			t.Fatalf("folder = %+v, want one refused plugin and none to run", folder)
		}
		r := folder.Refused[0]
		if r.Name != "chat" || r.Path != filepath.Join(dir, "chat") {
			t.Errorf("refusal = %+v, want chat in %s", r, dir)
		}
		for _, w := range want {
			if !strings.Contains(r.Error(), w) {
				t.Errorf("refusal %q does not say %q", r.Error(), w)
			}
		}
	}
	me := os.Geteuid()

	t.Run("a file writable by group", func(t *testing.T) {
		refused(t, plugin(t, "chat", 0o775, 0o700), me, "mode 0775", "chmod go-w")
	})
	t.Run("a file writable by others", func(t *testing.T) {
		refused(t, plugin(t, "chat", 0o757, 0o700), me, "mode 0757", "writable by group or others")
	})
	t.Run("a folder writable by others", func(t *testing.T) {
		dir := plugin(t, "chat", 0o755, 0o757)
		refused(t, dir, me, "its folder "+dir+" is mode 0757")
	})
	t.Run("a folder writable by group", func(t *testing.T) {
		refused(t, plugin(t, "chat", 0o755, 0o770), me, "mode 0770")
	})
	t.Run("a link to a file in a folder others may write", func(t *testing.T) {
		open := plugin(t, "real-chat", 0o755, 0o777)
		dir := filepath.Join(t.TempDir(), "plugins")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(open, "real-chat"), filepath.Join(dir, "chat")); err != nil {
			t.Fatal(err)
		}
		refused(t, dir, me, "its folder "+open)
	})
	t.Run("a file owned by another user", func(t *testing.T) {
		dir := plugin(t, "chat", 0o755, 0o700)
		if me == 0 {
			// Root may give the file away, and root's own files are
			// trusted: make it another user's for real.
			if err := os.Chown(filepath.Join(dir, "chat"), 4242, 4242); err != nil {
				t.Fatal(err)
			}
			refused(t, dir, 0, "owned by uid 4242")
			refused(t, dir, 1000, "owned by uid 4242")
			return
		}
		refused(t, dir, me+1, fmt.Sprintf("owned by uid %d", me))
	})
	t.Run("root's and the user's own files run", func(t *testing.T) {
		dir := plugin(t, "chat", 0o755, 0o755)
		folder, err := discover(dir, me)
		if err != nil || len(folder.Plugins) != 1 || len(folder.Refused) != 0 {
			t.Fatalf("own file: folder = %+v, %v", folder, err)
		}
		if me == 0 {
			// A root-owned plugin runs for any user.
			if folder, err := discover(dir, 1000); err != nil || len(folder.Plugins) != 1 {
				t.Fatalf("root's file for uid 1000: folder = %+v, %v", folder, err)
			}
		}
	})
}
