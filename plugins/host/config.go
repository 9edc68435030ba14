package host

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Config is the operator's plugin configuration file (JSON): which plugin
// processes run, with what settings, which plugin delivers each channel and
// which one is the user directory. External plugins are pinned by SHA-256:
// a changed binary is refused before it runs.
//
//	{
//	  "plugins": [
//	    {"name": "mail", "builtin": "smtp", "config": {"host": "smtp.example.com", "from": "auth@example.com"}},
//	    {"name": "texts", "command": ["/opt/flexauth/plugins/flexauth-sms"], "sha256": "9f86d0…", "config": {"account_sid": "AC…"}},
//	    {"name": "people", "kind": "identity", "builtin": "directory", "config": {"path": "/etc/flexauth/users.csv"}}
//	  ],
//	  "channels": {"email": "mail", "sms": "texts"},
//	  "accounts": {"acme": {"email": "acme-mail"}},
//	  "directory": "people",
//	  "sign_on": "entra"
//	}
//
// An entry with neither "builtin" nor "command" is the executable of that
// name in the plugin folder (see Discover), given its settings: {"name":
// "chat", "config": {"url": "…"}} runs <plugins>/chat. Its "sha256" is
// optional there; without one the plugin is unpinned. Routing may also
// name a plugin of the folder that has no entry (it gets no settings).
//
// "accounts" gives an account its own plugin for a channel (its own mail
// server, sender and templates); other accounts use "channels". "directory"
// names the identity plugin that resolves users for every account;
// "sign_on" the OpenID Connect plugin for method sso ("account_sign_on":
// {"acme": "acme-entra"} per account).
type Config struct {
	Plugins  []PluginConfig               `json:"plugins"`
	Channels map[string]string            `json:"channels"`
	Accounts map[string]map[string]string `json:"accounts,omitempty"`
	// Directory is the identity plugin users are looked up in (Host.Lookup),
	// or empty for none.
	Directory string `json:"directory,omitempty"`
	// SignOn is the identity plugin (with the OpenID Connect capability)
	// that signs users on for systems using method sso; AccountSignOn
	// gives an account its own provider (its Entra ID tenant, say).
	SignOn        string            `json:"sign_on,omitempty"`
	AccountSignOn map[string]string `json:"account_sign_on,omitempty"`
}

// PluginConfig is one plugin process.
type PluginConfig struct {
	Name string `json:"name"`
	// Kind is "delivery" (the default when empty) or "identity".
	Kind    string   `json:"kind,omitempty"`
	Builtin string   `json:"builtin,omitempty"` // a plugin built into flexauth, run by re-executing it
	Command []string `json:"command,omitempty"` // an external plugin executable and its arguments
	// SHA256 pins the executable: required with Command, optional for a
	// plugin of the plugin folder (neither Builtin nor Command).
	SHA256 string            `json:"sha256,omitempty"`
	Config map[string]string `json:"config,omitempty"`
}

// LoadConfig reads and checks a plugin configuration file. self is the
// flexauth executable, which built-in plugins re-execute; folder is what
// Discover found in the plugin folder (the zero Folder when there is
// none), whose plugins entries and routing may name.
func LoadConfig(path, self string, folder Folder) (Config, []Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, nil, fmt.Errorf("read plugin config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, nil, fmt.Errorf("parse plugin config %s: %w", path, err)
	}
	specs, err := cfg.Specs(self, folder)
	if err != nil {
		return Config{}, nil, fmt.Errorf("plugin config %s: %w", path, err)
	}
	return cfg, specs, nil
}

// Specs turns the configuration into launch specs, checking it whole. The
// specs are the configured plugins, then the plugins of folder that
// routing names without an entry.
func (c Config) Specs(self string, folder Folder) ([]Spec, error) {
	var specs []Spec
	var errs []error
	for i, p := range c.Plugins {
		if slices.ContainsFunc(c.Plugins[:i], func(q PluginConfig) bool { return q.Name == p.Name && p.Name != "" }) {
			errs = append(errs, fmt.Errorf("plugins[%d] %q: the name is used twice", i, p.Name))
			continue
		}
		spec, err := p.spec(self, folder)
		if err != nil {
			errs = append(errs, fmt.Errorf("plugins[%d] %q: %w", i, p.Name, err))
			continue
		}
		specs = append(specs, spec)
	}
	// kindOf is the kind of the named plugin, or "" when none is
	// configured under that name. A plugin of the folder without an entry
	// is a delivery plugin.
	kindOf := func(name string) string {
		i := slices.IndexFunc(c.Plugins, func(p PluginConfig) bool { return p.Name == name })
		if i >= 0 {
			return Spec{Kind: c.Plugins[i].Kind}.kind()
		}
		if s, ok := folder.plugin(name); ok {
			return s.kind()
		}
		return ""
	}
	routed := map[string]bool{}
	// use checks that what refers to a configured plugin of kind.
	use := func(what, name, kind string) {
		routed[name] = true
		switch got := kindOf(name); got {
		case kind:
		case "":
			errs = append(errs, fmt.Errorf("%s names plugin %q, which is %s", what, name, folder.missing(name)))
		default:
			errs = append(errs, fmt.Errorf("%s names plugin %q, which is %s plugin, not %s", what, name, withArticle(got), kind))
		}
	}
	for channel, name := range c.Channels {
		use(fmt.Sprintf("channel %q", channel), name, sdk.KindDelivery)
	}
	for account, channels := range c.Accounts {
		for channel, name := range channels {
			use(fmt.Sprintf("account %q channel %q", account, channel), name, sdk.KindDelivery)
		}
	}
	if c.Directory != "" {
		use("directory", c.Directory, sdk.KindIdentity)
	}
	if c.SignOn != "" {
		use("sign_on", c.SignOn, sdk.KindIdentity)
	}
	for account, name := range c.AccountSignOn {
		use(fmt.Sprintf("account %q sign_on", account), name, sdk.KindIdentity)
	}
	// The folder's plugins routed to without an entry run too.
	for _, s := range folder.Plugins {
		if routed[s.Name] && !hasSpec(specs, s.Name) {
			specs = append(specs, s)
		}
	}
	return specs, errors.Join(errs...)
}

// hasSpec says whether specs has one named name.
func hasSpec(specs []Spec, name string) bool {
	return slices.ContainsFunc(specs, func(s Spec) bool { return s.Name == name })
}

// missing says why no plugin named name can be found: not configured, and
// not (or refused) in the plugin folder.
func (f Folder) missing(name string) string {
	if r, ok := f.refusal(name); ok {
		return fmt.Sprintf("not configured, and its executable %s in the plugin folder is refused: %s", r.Path, r.Reason)
	}
	if f.Dir == "" {
		return "not configured (and there is no plugin folder)"
	}
	return fmt.Sprintf("not configured, nor an executable in the plugin folder %s", f.Dir)
}

func (p PluginConfig) spec(self string, folder Folder) (Spec, error) {
	if p.Name == "" {
		return Spec{}, errors.New("name is required")
	}
	if !slices.Contains(kinds(), Spec{Kind: p.Kind}.kind()) {
		return Spec{}, fmt.Errorf("kind %q is not one of %s", p.Kind, strings.Join(kinds(), ", "))
	}
	switch {
	case p.Builtin != "" && len(p.Command) > 0:
		return Spec{}, errors.New("set builtin or command, not both")
	case p.Builtin != "":
		if p.SHA256 != "" {
			return Spec{}, errors.New("sha256 applies to external plugins; a built-in one is flexauth itself")
		}
		return Spec{Name: p.Name, Kind: p.Kind, Command: []string{self, "plugin", "serve", p.Builtin}, Config: p.Config}, nil
	case len(p.Command) == 0:
		return p.discovered(folder)
	}
	// An external binary runs only if it is the one the operator vetted.
	if p.SHA256 == "" {
		return Spec{}, fmt.Errorf("sha256 is required for %s (sha256sum prints it)", p.Command[0])
	}
	sum, err := hex.DecodeString(strings.TrimSpace(p.SHA256))
	if err != nil || len(sum) != 32 {
		return Spec{}, fmt.Errorf("sha256 %q is not 64 hex digits", p.SHA256)
	}
	return Spec{Name: p.Name, Kind: p.Kind, Command: p.Command, Config: p.Config, Checksum: sum}, nil
}

// discovered is the spec of an entry with neither builtin nor command: the
// plugin folder's executable of the entry's name, with the entry's kind,
// settings and (optional) checksum.
func (p PluginConfig) discovered(folder Folder) (Spec, error) {
	found, ok := folder.plugin(p.Name)
	if !ok {
		if r, refused := folder.refusal(p.Name); refused {
			return Spec{}, fmt.Errorf("its executable %s in the plugin folder is refused: %s", r.Path, r.Reason)
		}
		if folder.Dir == "" {
			return Spec{}, errors.New("builtin or command is required (or an executable of this name in a plugin folder)")
		}
		return Spec{}, fmt.Errorf("builtin or command is required, or an executable named %q in the plugin folder %s", p.Name, folder.Dir)
	}
	spec := Spec{Name: p.Name, Kind: p.Kind, Command: found.Command, Config: p.Config}
	if p.SHA256 != "" {
		sum, err := hex.DecodeString(strings.TrimSpace(p.SHA256))
		if err != nil || len(sum) != 32 {
			return Spec{}, fmt.Errorf("sha256 %q is not 64 hex digits", p.SHA256)
		}
		spec.Checksum = sum
	}
	return spec, nil
}
