package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
			cfg, specs, err := LoadConfig(path, "/usr/bin/flexauth")
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
	if res.ProtocolVersion != sdk.ProtocolVersion || res.Info.Name != "outbox" || len(res.Info.Channels) == 0 || res.ConfigureErr != nil {
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
			cfg, specs, err := LoadConfig(path, "/usr/bin/flexauth")
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
