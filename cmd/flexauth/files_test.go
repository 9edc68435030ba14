package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDevKeepsItsFilesPrivate starts `flexauth dev` on a data folder that
// other users may read (as mkdir with a umask of 022 makes it), with a
// plugin others could change in its plugin folder, and checks what it
// leaves: a folder and files for their owner only, and the plugin refused.
func TestDevKeepsItsFilesPrivate(t *testing.T) {
	bin := flexauthBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	plugins := filepath.Join(data, "plugins")
	if err := os.MkdirAll(plugins, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	pager := filepath.Join(plugins, "pager")
	if err := os.WriteFile(pager, []byte("#!/bin/sh\necho never run\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pager, 0o777); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	url := "http://" + addr
	dev, out := startDev(t, bin, addr, data)
	t.Cleanup(func() { _ = dev.Process.Kill(); _ = dev.Wait() })

	// A message makes the outbox write its file.
	var keys devKeys
	readJSON(t, filepath.Join(data, "dev-keys.json"), &keys)
	call(t, url, "POST", "/v1/admin/systems", keys.AdminKey, `{"name":"wiki","methods":["passwordless"],"sensitivity":"low","ttl_seconds":600}`, 201)
	call(t, url, "POST", "/v1/admin/users", keys.AdminKey, `{"authid":"alice","name":"Alice","email":"alice@example.com"}`, 201)
	call(t, url, "PUT", "/v1/admin/users/alice/systems", keys.AdminKey, `{"assignments":[{"system":"wiki","method":"passwordless"}]}`, 200)
	call(t, url, "POST", "/v1/start", keys.AppKey, `{"system":"wiki","authid":"alice"}`, 200)
	waitLink(t, filepath.Join(data, "outbox.jsonl"))

	if info, err := os.Stat(data); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("data folder: %v, %v; want mode 0700", info.Mode(), err)
	}
	if !strings.Contains(out.String(), "data folder was open to other users: restricted it to its owner") || !strings.Contains(out.String(), "was=0755") {
		t.Errorf("no log line says the data folder was tightened:\n%s", out.String())
	}
	for _, name := range []string{"master.key", "dev-keys.json", "outbox.jsonl",
		"flexauth.db", "flexauth.db-wal", "flexauth.db-shm", "temporal.db", "temporal.db-wal", "temporal.db-shm"} {
		info, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s is %04o, want 0600", name, got)
		}
	}
	if !strings.Contains(out.String(), "plugin refused: not run") || !strings.Contains(out.String(), pager) {
		t.Errorf("no error log line names the refused plugin:\n%s", out.String())
	}
}

// TestDevRefusesAnOpenMasterKey gives `flexauth dev` a master key that
// every user of the machine may read: it must not start, and must say
// which file, its mode and the fix.
func TestDevRefusesAnOpenMasterKey(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(data, "master.key")
	raw := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	if err := os.WriteFile(key, []byte(raw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, flexauthBinary(t), "dev", "--data", data, "--addr", freeAddr(t))
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("flexauth dev ran with a world-readable master key (err %v):\n%s", err, out)
	}
	want := fmt.Sprintf("master key %s is mode 0644, readable or writable by group or others", key)
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "chmod 600 "+key) {
		t.Fatalf("flexauth dev said:\n%s\nwant it to say %q and the fix", out, want)
	}
	if _, err := os.Stat(filepath.Join(data, "flexauth.db")); err == nil {
		t.Error("flexauth dev created its database before refusing the key")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
