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

// pluginFolder makes a plugin folder holding the outbox plugin as "mail"
// and a copy of it that group members could change as "pager".
func pluginFolder(t *testing.T) (dir, mail, pager string) {
	t.Helper()
	bin := buildOutbox(t)
	dir = filepath.Join(t.TempDir(), "plugins")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	mail, pager = filepath.Join(dir, "mail"), filepath.Join(dir, "pager")
	for path, mode := range map[string]os.FileMode{mail: 0o755, pager: 0o775} {
		if err := os.WriteFile(path, raw, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	return dir, mail, pager
}

func TestPluginListShowsUnpinnedAndRefusedPlugins(t *testing.T) {
	dir, mail, pager := pluginFolder(t)
	sum, err := fileSHA256(mail)
	if err != nil {
		t.Fatal(err)
	}
	config := func(entry string) string {
		path := filepath.Join(t.TempDir(), "plugins.json")
		body := fmt.Sprintf(`{"plugins":[%s],"channels":{"email":"mail"},"accounts":{"acme":{"sms":"mail"}}}`, entry)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	outbox := filepath.Join(t.TempDir(), "o.jsonl")
	ctx := context.Background()

	t.Run("a folder plugin given settings and routing, without a checksum", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"plugin", "list", "--plugins", dir, "--plugins-config", config(fmt.Sprintf(`{"name":"mail","config":{"path":%q}}`, outbox))}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "1 of 2 plugins failed their check or were refused") {
			t.Errorf("err = %v, want the refused plugin to fail the list", err)
		}
		for _, want := range []string{
			"mail: " + mail + " (UNPINNED: no sha256 configured; delivers acme/sms, email)\n  ok: outbox",
			"pager: " + pager + " (REFUSED, not run)\n  REFUSED the file is mode 0775, writable by group or others (chmod go-w " + pager + ")",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("list output lacks %q:\n%s", want, out.String())
			}
		}
		// The refusal is logged too, naming the file.
		if !strings.Contains(errOut.String(), "plugin refused: not run") || !strings.Contains(errOut.String(), pager) {
			t.Errorf("no error log line names the refused plugin:\n%s", errOut.String())
		}
	})
	t.Run("a folder plugin pinned in its entry", func(t *testing.T) {
		var out, errOut bytes.Buffer
		_ = run(ctx, []string{"plugin", "list", "--plugins", dir, "--plugins-config", config(fmt.Sprintf(`{"name":"mail","sha256":"%x","config":{"path":%q}}`, sum, outbox))}, &out, &errOut)
		if want := fmt.Sprintf("mail: %s (pinned sha256 %x; delivers acme/sms, email)\n  ok: outbox", mail, sum); !strings.Contains(out.String(), want) {
			t.Errorf("list output lacks %q:\n%s", want, out.String())
		}
	})
	t.Run("an entry naming the refused plugin", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"plugin", "list", "--plugins", dir, "--plugins-config", config(`{"name":"pager"}`)}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), `plugins[0] "pager": its executable `+pager+" in the plugin folder is refused: the file is mode 0775") {
			t.Errorf("err = %v", err)
		}
	})
}
