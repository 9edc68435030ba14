package secret

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/flexauth/flexauth/internal/fileperm"
)

// LoadOrCreateMasterKey reads the base64 master key at path, or creates
// it from crypto/rand when no file is there.
//
// Whoever reads the key can open every sealed secret and forge every
// digest, so an existing file must be a regular file (not a symbolic
// link) owned by the user running flexauth and closed to group and others
// (mode 0600 or 0400). Anything else is refused with an error naming the
// file and the fix; flexauth does not repair it silently, since the key
// may already have been read.
//
// A new key is written to a temporary file created 0600 in the same
// folder, synced, then linked into place: it is never readable by others
// nor seen half-written, and two processes creating it at once end up
// with the same key.
func LoadOrCreateMasterKey(path string) ([]byte, error) {
	return loadOrCreateMasterKey(path, os.Geteuid())
}

// loadOrCreateMasterKey is LoadOrCreateMasterKey for the user uid.
func loadOrCreateMasterKey(path string, uid int) ([]byte, error) {
	key, err := readMasterKey(path, uid)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	switch err := writeMasterKey(path, key); {
	case errors.Is(err, fs.ErrExist):
		// Another process created it first: use that one.
		return readMasterKey(path, uid)
	case err != nil:
		return nil, err
	}
	return key, nil
}

// readMasterKey reads the key file after checking that only uid can read
// or change it. A missing file is fs.ErrNotExist.
func readMasterKey(path string, uid int) ([]byte, error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("inspect master key %s: %w", path, err)
	}
	if err := checkKeyFile(path, info, uid); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	defer f.Close()
	// The file opened must be the one checked, not one swapped in since.
	opened, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	if !os.SameFile(info, opened) {
		return nil, fmt.Errorf("master key %s changed while it was read; start again", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	key, err := ParseMasterKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return key, nil
}

// checkKeyFile refuses a key file that anyone but uid could read,
// change or redirect.
func checkKeyFile(path string, info fs.FileInfo, uid int) error {
	switch mode := info.Mode(); {
	case mode&fs.ModeSymlink != 0:
		return fmt.Errorf("master key %s is a symbolic link: put the key file itself there, owned by the user running flexauth, mode 0600", path)
	case !mode.IsRegular():
		return fmt.Errorf("master key %s is not a regular file (%s)", path, mode.Type())
	}
	if owner, ok := fileperm.Owner(info); ok && owner != uid {
		return fmt.Errorf("master key %s is owned by uid %d, not by uid %d running flexauth: chown it to that user, or run flexauth as its owner", path, owner, uid)
	}
	// Windows has no Unix modes (its ACLs protect the file there).
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&fileperm.GroupOrOther != 0 {
		return fmt.Errorf("master key %s is mode %04o, readable or writable by group or others, who could open every sealed secret with it: run chmod 600 %s (and replace the key if others may have read it)", path, perm, path)
	}
	return nil
}

// writeMasterKey creates path holding key, or fails with fs.ErrExist
// when a file is already there.
func writeMasterKey(path string, key []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key folder: %w", err)
	}
	// CreateTemp makes the file 0600 from the start.
	tmp, err := os.CreateTemp(dir, ".master.key-*")
	if err != nil {
		return fmt.Errorf("create master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return errors.Join(fmt.Errorf("write master key: %w", err), tmp.Close())
	}
	if err := tmp.Sync(); err != nil {
		return errors.Join(fmt.Errorf("sync master key: %w", err), tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	// A link, unlike a rename, never replaces a key another process wrote
	// meanwhile.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("put master key in place: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync key folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync key folder: %w", err)
	}
	return nil
}
