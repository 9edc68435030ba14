package fileperm_test

import (
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/flexauth/flexauth/internal/fileperm"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func TestPrivateSQLite(t *testing.T) {
	t.Run("a new database and its WAL files are 0600", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "new.db")
		if err := fileperm.PrivateSQLite(path); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if got := mode(t, p); got != 0o600 {
				t.Errorf("%s is %04o, want 0600", filepath.Base(p), got)
			}
		}
	})
	t.Run("an existing database open to others is tightened with its companions", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "old.db")
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o664); err != nil {
				t.Fatal(err)
			}
		}
		if err := fileperm.PrivateSQLite(path); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if got := mode(t, p); got != 0o600 {
				t.Errorf("%s is %04o, want 0600", filepath.Base(p), got)
			}
		}
		if _, err := os.Stat(path + "-journal"); err == nil {
			t.Error("a journal file was created")
		}
	})
}

func TestTighten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	was, changed, err := fileperm.Tighten(dir)
	if err != nil || !changed || was != 0o755 {
		t.Fatalf("Tighten = %04o, %v, %v; want 0755, true, nil", was, changed, err)
	}
	if got := mode(t, dir); got != 0o700 {
		t.Fatalf("folder is %04o, want 0700", got)
	}
	if _, changed, err := fileperm.Tighten(dir); changed || err != nil {
		t.Fatalf("a private folder was changed again: %v, %v", changed, err)
	}
	if _, changed, err := fileperm.Tighten(filepath.Join(dir, "missing")); changed || err != nil {
		t.Fatalf("a missing file: %v, %v", changed, err)
	}
}
