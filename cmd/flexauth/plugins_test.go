package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func buildOutbox(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "flexauth-outbox")
	build := exec.Command("go", "build", "-o", bin, "github.com/flexauth/flexauth/plugins/delivery/outbox/cmd/flexauth-outbox")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build outbox: %v", err)
	}
	return bin
}

func TestPluginCheck(t *testing.T) {
	bin := buildOutbox(t)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"plugin", "check", bin, "path=" + filepath.Join(t.TempDir(), "o.jsonl")}, &out, &errOut); err != nil {
		t.Fatalf("check: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"plugin   outbox", "kind     delivery", "protocol 1", "offers   channels email, sms", "sha256   ", "configuration accepted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(ctx, []string{"plugin", "check", bin, "path=relative.jsonl"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "configuration refused") {
		t.Fatalf("a refused configuration: err = %v", err)
	}
	if err := run(ctx, []string{"plugin", "check", "/bin/true"}, &out, &errOut); err == nil {
		t.Fatal("a program that is not a plugin passed")
	}
}

func TestPluginListRefusesAChangedBinary(t *testing.T) {
	bin := buildOutbox(t)
	sum, err := fileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	config := func(sha string) string {
		path := filepath.Join(t.TempDir(), "plugins.json")
		body := fmt.Sprintf(`{"plugins":[{"name":"mail","command":[%q],"sha256":%q,"config":{"path":%q}}],"channels":{"email":"mail"}}`,
			bin, sha, filepath.Join(t.TempDir(), "o.jsonl"))
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"plugin", "list", "--plugins-config", config(fmt.Sprintf("%x", sum))}, &out, &errOut); err != nil {
		t.Fatalf("list: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "mail: "+bin) || !strings.Contains(out.String(), "delivers email") || !strings.Contains(out.String(), "ok: outbox") {
		t.Fatalf("list output:\n%s", out.String())
	}
	out.Reset()
	err = run(ctx, []string{"plugin", "list", "--plugins-config", config(strings.Repeat("0", 64))}, &out, &errOut)
	if err == nil || !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "checksum") {
		t.Fatalf("a binary that does not match its pinned checksum was not refused: %v\n%s", err, out.String())
	}
}
