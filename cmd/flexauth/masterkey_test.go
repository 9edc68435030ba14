package main

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The master key may come from a file (FLEXAUTH_MASTER_KEY_FILE, a Docker
// or Kubernetes secret) instead of the environment, where `docker inspect`
// shows it; the same key gives the same keyring either way.
func TestMasterKeyFromAFile(t *testing.T) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(raw)
	file := filepath.Join(t.TempDir(), "master_key")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLEXAUTH_PREVIOUS_MASTER_KEYS", "")

	t.Setenv("FLEXAUTH_MASTER_KEY", key)
	t.Setenv("FLEXAUTH_MASTER_KEY_FILE", "")
	fromEnv, err := envKeyring()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLEXAUTH_MASTER_KEY", "")
	t.Setenv("FLEXAUTH_MASTER_KEY_FILE", file)
	fromFile, err := envKeyring()
	if err != nil {
		t.Fatalf("from the file: %v", err)
	}
	if !slices.Equal(fromEnv.PayloadKeyIDs(), fromFile.PayloadKeyIDs()) || fromEnv.Digest("p", "x") != fromFile.Digest("p", "x") {
		t.Fatal("the file's key gives another keyring than the environment's")
	}

	t.Setenv("FLEXAUTH_MASTER_KEY", key)
	if _, err := envKeyring(); err == nil || !strings.Contains(err.Error(), "set one") {
		t.Errorf("both set: %v", err)
	}
	t.Setenv("FLEXAUTH_MASTER_KEY", "")
	t.Setenv("FLEXAUTH_MASTER_KEY_FILE", "")
	if _, err := envKeyring(); err == nil || !strings.Contains(err.Error(), "FLEXAUTH_MASTER_KEY_FILE") {
		t.Errorf("neither set: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("not-a-key-but-a-secret-word"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLEXAUTH_MASTER_KEY_FILE", bad)
	if _, err := envKeyring(); err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "secret-word") {
		t.Errorf("a file without a key: %v", err)
	}
}
