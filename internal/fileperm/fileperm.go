// Package fileperm keeps the files flexauth holds secrets in, or runs code
// from, out of other users' reach: it creates and tightens owner-only
// files and folders and tells who owns a file. The checks that refuse a
// file (a readable master key, a plugin others can change) live with the
// code that opens it; this package only gives them the facts.
package fileperm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// GroupOrOther is the part of a mode that lets users other than the owner
// in.
const GroupOrOther fs.FileMode = 0o077

// GroupOrOtherWrite is the part of a mode that lets users other than the
// owner change a file, or add, remove and rename a folder's entries.
const GroupOrOtherWrite fs.FileMode = 0o022

// Tighten removes every group and other permission from path when it has
// any, and says which mode it had. A missing file is left missing.
func Tighten(path string) (was fs.FileMode, changed bool, err error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("inspect %s: %w", path, err)
	}
	was = info.Mode().Perm()
	if was&GroupOrOther == 0 {
		return was, false, nil
	}
	if err := os.Chmod(path, was&^GroupOrOther); err != nil {
		return was, false, fmt.Errorf("restrict %s to its owner (was %04o): %w", path, was, err)
	}
	return was, true, nil
}

// PrivateSQLite makes the SQLite database at path readable and writable by
// its owner only (0600), before a driver opens it: it creates a missing
// file empty with mode 0600 (SQLite takes an empty file for a new
// database) and tightens an existing database and its -wal, -shm and
// -journal files. SQLite creates those companions with the database
// file's own mode, so a 0600 database keeps them 0600 too. This is done
// with the file's mode, never the process umask, which is shared by every
// goroutine of the process.
func PrivateSQLite(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create database file %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if _, _, err := Tighten(p); err != nil {
			return err
		}
	}
	return nil
}
