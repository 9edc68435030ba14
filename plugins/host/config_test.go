package host

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/internal/wire"
	"github.com/flexauth/flexauth/plugins/sdk"
)

func TestLoadConfig(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	cases := []struct {
		name    string
		json    string
		wantErr string
	}{
		{"built-in and pinned external plugins", `{"plugins":[{"name":"mail","builtin":"outbox","config":{"path":"/tmp/o"}},
			{"name":"texts","command":["/opt/p/sms"],"sha256":"` + sum + `"}],"channels":{"email":"mail","sms":"texts"},
			"accounts":{"acme":{"sms":"mail"}}}`, ""},
		{"account channel naming an unknown plugin", `{"plugins":[],"accounts":{"acme":{"sms":"x"}}}`, `account "acme" channel "sms" names plugin "x"`},
		{"external plugin without a checksum", `{"plugins":[{"name":"texts","command":["/opt/p/sms"]}]}`, "sha256 is required"},
		{"malformed checksum", `{"plugins":[{"name":"texts","command":["/opt/p/sms"],"sha256":"abc"}]}`, "not 64 hex digits"},
		{"channel naming an unknown plugin", `{"plugins":[],"channels":{"email":"mail"}}`, `names plugin "mail"`},
		{"unknown field", `{"plugin":[]}`, "unknown field"},
		{"both builtin and command", `{"plugins":[{"name":"x","builtin":"outbox","command":["/x"]}]}`, "not both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plugins.json")
			if err := os.WriteFile(path, []byte(c.json), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, specs, err := LoadConfig(path, "/usr/bin/flexauth", Folder{})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(specs) != 2 || strings.Join(specs[0].Command, " ") != "/usr/bin/flexauth plugin serve outbox" ||
				len(specs[1].Checksum) != 32 || cfg.Channels["sms"] != "texts" || cfg.Accounts["acme"]["sms"] != "mail" {
				t.Fatalf("specs = %+v, config = %+v", specs, cfg)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	res, err := Check(ctx, discardLogger(), Spec{Name: "outbox", Command: []string{outboxBin}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProtocolVersion != wire.ProtocolVersion || res.Info.Name != "outbox" || len(res.Info.Channels) == 0 || res.ConfigureErr != nil {
		t.Fatalf("check = %+v", res)
	}
	res, err = Check(ctx, discardLogger(), Spec{Name: "outbox", Command: []string{outboxBin}, Config: map[string]string{"path": "relative.jsonl"}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.ConfigureErr, sdk.ErrPermanent) {
		t.Fatalf("a bad configuration was accepted: %+v", res)
	}
	if _, err := Check(ctx, discardLogger(), Spec{Name: "outbox", Command: []string{outboxBin}, Checksum: make([]byte, 32)}); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("a wrong checksum: err = %v", err)
	}
	if _, err := Check(ctx, discardLogger(), Spec{Name: "sh", Command: []string{"/bin/true"}}); err == nil {
		t.Fatal("a program that is not a plugin passed the check")
	}
}

func TestLoadConfigWithADirectory(t *testing.T) {
	cases := []struct {
		name    string
		json    string
		wantErr string
	}{
		{"identity plugin as the directory", `{"plugins":[{"name":"mail","builtin":"outbox"},
			{"name":"people","kind":"identity","builtin":"directory","config":{"path":"/etc/users.csv"}}],
			"channels":{"email":"mail"},"directory":"people"}`, ""},
		{"directory naming an unknown plugin", `{"plugins":[],"directory":"people"}`, `directory names plugin "people", which is not configured`},
		{"directory naming a delivery plugin", `{"plugins":[{"name":"mail","builtin":"outbox"}],"directory":"mail"}`,
			`directory names plugin "mail", which is a delivery plugin, not identity`},
		{"channel naming an identity plugin", `{"plugins":[{"name":"people","kind":"identity","builtin":"directory"}],"channels":{"email":"people"}}`,
			`channel "email" names plugin "people", which is an identity plugin, not delivery`},
		{"account channel naming an identity plugin", `{"plugins":[{"name":"people","kind":"identity","builtin":"directory"}],"accounts":{"acme":{"sms":"people"}}}`,
			`account "acme" channel "sms" names plugin "people", which is an identity plugin`},
		{"unknown kind", `{"plugins":[{"name":"x","kind":"oracle","builtin":"x"}]}`, `kind "oracle" is not one of delivery, identity`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plugins.json")
			if err := os.WriteFile(path, []byte(c.json), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, specs, err := LoadConfig(path, "/usr/bin/flexauth", Folder{})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Directory != "people" || len(specs) != 2 || specs[0].kind() != sdk.KindDelivery || specs[1].Kind != sdk.KindIdentity ||
				strings.Join(specs[1].Command, " ") != "/usr/bin/flexauth plugin serve directory" {
				t.Fatalf("specs = %+v, config = %+v", specs, cfg)
			}
		})
	}
}

func TestLoadConfigWithAPluginFolder(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"chat", "pager", "people"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "pager"), 0o777); err != nil {
		t.Fatal(err)
	}
	folder, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	cases := []struct {
		name    string
		json    string
		folder  Folder
		want    []Spec
		wantErr string
	}{
		{"an entry without builtin or command is the folder's executable, with settings",
			`{"plugins":[{"name":"chat","config":{"url":"http://chat"}}],"channels":{"email":"chat"},"accounts":{"acme":{"sms":"chat"}}}`, folder,
			[]Spec{{Name: "chat", Command: []string{filepath.Join(dir, "chat")}, Config: map[string]string{"url": "http://chat"}}}, ""},
		{"a folder's entry may be pinned",
			`{"plugins":[{"name":"chat","sha256":"` + sum + `"}],"channels":{"email":"chat"}}`, folder,
			[]Spec{{Name: "chat", Command: []string{filepath.Join(dir, "chat")}, Checksum: bytesOf(sum)}}, ""},
		{"a folder's identity plugin",
			`{"plugins":[{"name":"people","kind":"identity","config":{"path":"/etc/people.csv"}}],"directory":"people"}`, folder,
			[]Spec{{Name: "people", Kind: sdk.KindIdentity, Command: []string{filepath.Join(dir, "people")}, Config: map[string]string{"path": "/etc/people.csv"}}}, ""},
		{"routing may name a folder's plugin without an entry",
			`{"plugins":[{"name":"mail","builtin":"outbox"}],"channels":{"email":"mail","sms":"chat"}}`, folder,
			[]Spec{{Name: "mail", Command: []string{"/usr/bin/flexauth", "plugin", "serve", "outbox"}}, {Name: "chat", Command: []string{filepath.Join(dir, "chat")}}}, ""},
		{"an entry for an executable missing from the folder",
			`{"plugins":[{"name":"pigeon","config":{}}]}`, folder, nil, `plugins[0] "pigeon": builtin or command is required, or an executable named "pigeon" in the plugin folder ` + dir},
		{"an entry with neither builtin nor command, without a plugin folder",
			`{"plugins":[{"name":"chat"}]}`, Folder{}, nil, `plugins[0] "chat": builtin or command is required (or an executable of this name in a plugin folder)`},
		{"an entry for a refused executable",
			`{"plugins":[{"name":"pager"}]}`, folder, nil, `plugins[0] "pager": its executable ` + filepath.Join(dir, "pager") + ` in the plugin folder is refused: the file is mode 0777`},
		{"routing to a refused executable",
			`{"plugins":[],"channels":{"sms":"pager"}}`, folder, nil, `channel "sms" names plugin "pager", which is not configured, and its executable ` + filepath.Join(dir, "pager") + ` in the plugin folder is refused`},
		{"routing to a plugin that is nowhere",
			`{"plugins":[],"channels":{"sms":"pigeon"}}`, folder, nil, `channel "sms" names plugin "pigeon", which is not configured, nor an executable in the plugin folder ` + dir},
		{"a folder's entry with a malformed checksum",
			`{"plugins":[{"name":"chat","sha256":"abc"}]}`, folder, nil, "not 64 hex digits"},
		{"a name used twice",
			`{"plugins":[{"name":"chat"},{"name":"chat","builtin":"outbox"}]}`, folder, nil, `plugins[1] "chat": the name is used twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plugins.json")
			if err := os.WriteFile(path, []byte(c.json), 0o600); err != nil {
				t.Fatal(err)
			}
			_, specs, err := LoadConfig(path, "/usr/bin/flexauth", c.folder)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(specs, c.want) {
				t.Fatalf("specs = %+v\nwant    %+v", specs, c.want)
			}
		})
	}
}

func bytesOf(hexSum string) []byte {
	b, err := hex.DecodeString(hexSum)
	if err != nil {
		panic(err)
	}
	return b
}
