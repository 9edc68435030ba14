package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/delivery/outbox"
	"github.com/flexauth/flexauth/plugins/delivery/sms"
	"github.com/flexauth/flexauth/plugins/delivery/smtp"
	"github.com/flexauth/flexauth/plugins/delivery/webhook"
	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/identity/directory"
	"github.com/flexauth/flexauth/plugins/identity/oidc"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// pluginFlags say which plugin processes a worker runs, and how much it
// sends.
type pluginFlags struct {
	config string // operator configuration file (host.Config)
	dir    string // folder of external plugin executables
	outbox string // run the built-in outbox, writing here

	userStarts, accountStarts int
	// welcomeLinkTTL and resetLinkTTL are how long welcome and password
	// reset links work; envErr is a bad value of their environment
	// variables.
	welcomeLinkTTL time.Duration
	resetLinkTTL   time.Duration
	// workflowCache bounds the attempts kept in memory (worker.Options).
	workflowCache int
	envErr        error
}

// registerLimits adds the flags of what the worker sends: the start rate
// limits and the life of welcome and password reset links.
func (p *pluginFlags) registerLimits(fs *flag.FlagSet) {
	fs.IntVar(&p.userStarts, "starts-per-user", 0, "starts allowed per user in 15 minutes (0: default 10, -1: no limit)")
	fs.IntVar(&p.accountStarts, "starts-per-account", 0, "starts allowed per account in a minute (0: default 600, -1: no limit)")
	fs.DurationVar(&p.welcomeLinkTTL, "welcome-link-ttl", attempt.DefaultWelcomeLinkTTL,
		"how long a welcome link (to create a password) works after it is sent, at least 1m (env FLEXAUTH_WELCOME_LINK_TTL)")
	fs.DurationVar(&p.resetLinkTTL, "reset-link-ttl", attempt.DefaultResetLinkTTL,
		"how long a password reset link works after it is sent, at least 1m (env FLEXAUTH_RESET_LINK_TTL)")
	fs.IntVar(&p.workflowCache, "workflow-cache", defaultWorkflowCache,
		"attempts whose workflow state the worker keeps in memory between their tasks; the rest are replayed from Temporal when they next move (env FLEXAUTH_WORKFLOW_CACHE)")
	var errs []error
	for flagName, env := range map[string]string{"welcome-link-ttl": "FLEXAUTH_WELCOME_LINK_TTL", "reset-link-ttl": "FLEXAUTH_RESET_LINK_TTL", "workflow-cache": "FLEXAUTH_WORKFLOW_CACHE"} {
		if v := os.Getenv(env); v != "" {
			if err := fs.Set(flagName, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	}
	p.envErr = errors.Join(errs...)
}

// checkLimits reports the limits' flags that cannot be used as given.
func (p *pluginFlags) checkLimits() error {
	switch {
	case p.envErr != nil:
		return p.envErr
	case p.welcomeLinkTTL < time.Minute:
		return fmt.Errorf("--welcome-link-ttl %s: at least 1m", p.welcomeLinkTTL)
	case p.resetLinkTTL < time.Minute:
		return fmt.Errorf("--reset-link-ttl %s: at least 1m", p.resetLinkTTL)
	case p.workflowCache < 1:
		return fmt.Errorf("--workflow-cache %d: at least 1", p.workflowCache)
	}
	return nil
}

// defaultWorkflowCache is the SDK's own default: about 50 KiB each
// (measured with bench/topology: a worker stayed at 665-676 MiB from 15,000
// to 100,000 pending attempts). README: The worker's workflow cache.
const defaultWorkflowCache = 10000

func (p *pluginFlags) register(fs *flag.FlagSet) {
	p.registerLimits(fs)
	fs.StringVar(&p.config, "plugins-config", envOr("FLEXAUTH_PLUGINS_CONFIG", ""), "plugin configuration file: processes, settings, checksums, channels")
	fs.StringVar(&p.dir, "plugins", envOr("FLEXAUTH_PLUGIN_DIR", ""), "folder of external plugin executables")
	fs.StringVar(&p.outbox, "outbox", envOr("FLEXAUTH_OUTBOX", ""), "run the built-in outbox plugin, writing to this file")
}

// pluginSet is what a worker runs: the plugins' launch specs, the routing,
// and what the plugin folder held that flexauth will not run.
type pluginSet struct {
	specs []host.Spec
	cfg   host.Config
	// unpinned names the external plugins without a configured sha256:
	// they are pinned to their file's hash when flexauth starts, which
	// stops a swap while it runs but proves nothing about the file itself.
	unpinned map[string]bool
	refused  []host.Refusal
}

// load gathers the plugins to run and the channel each delivers. Without a
// configuration file, the outbox (when enabled) delivers every channel.
// The plugin folder's executables that others could have changed are
// refused: logged, and not run.
func (p *pluginFlags) load(logger *slog.Logger) (pluginSet, error) {
	self, err := os.Executable()
	if err != nil {
		return pluginSet{}, fmt.Errorf("find own executable: %w", err)
	}
	var folder host.Folder
	if p.dir != "" {
		if folder, err = host.Discover(p.dir); err != nil {
			return pluginSet{}, err
		}
		for _, r := range folder.Refused {
			logger.Error("plugin refused: not run", "plugin", r.Name, "path", r.Path, "reason", r.Reason)
		}
	}
	set := pluginSet{unpinned: map[string]bool{}, refused: folder.Refused}
	if p.config != "" {
		if set.cfg, set.specs, err = host.LoadConfig(p.config, self, folder); err != nil {
			return pluginSet{}, err
		}
	}
	if set.cfg.Channels == nil {
		set.cfg.Channels = map[string]string{}
	}
	if p.outbox != "" && !hasSpec(set.specs, "outbox") {
		set.specs = append(set.specs, host.Spec{Name: "outbox", Command: []string{self, "plugin", "serve", "outbox"}, Config: map[string]string{"path": p.outbox}})
		for _, ch := range []string{"email", "sms"} {
			if _, ok := set.cfg.Channels[ch]; !ok {
				set.cfg.Channels[ch] = "outbox"
			}
		}
	}
	// The folder's other executables run too (without settings) once
	// something routes to them; `plugin list` checks them.
	for _, s := range folder.Plugins {
		if !hasSpec(set.specs, s.Name) {
			set.specs = append(set.specs, s)
		}
	}
	for i, s := range set.specs {
		if s.Command[0] == self || len(s.Checksum) > 0 {
			continue // built in, or pinned by the configuration
		}
		// Pinned at start: a binary swapped while flexauth runs is
		// refused at its next launch.
		if set.specs[i].Checksum, err = fileSHA256(s.Command[0]); err != nil {
			return pluginSet{}, err
		}
		set.unpinned[s.Name] = true
	}
	return set, nil
}

// host starts the plugin host and returns the delivery routing for the
// activities.
func (p *pluginFlags) host(logger *slog.Logger, acts activities.Config, opts host.Options) (*host.Host, activities.Config, error) {
	if err := p.checkLimits(); err != nil {
		return nil, acts, err
	}
	set, err := p.load(logger)
	if err != nil {
		return nil, acts, err
	}
	for name := range set.unpinned {
		logger.Warn("plugin is unpinned: no sha256 in the plugin configuration; hashed at start", "plugin", name)
	}
	h, err := host.NewWithOptions(logger, opts, set.specs...)
	if err != nil {
		return nil, acts, err
	}
	cfg := set.cfg
	acts.Channels, acts.AccountChannels, acts.Directory = cfg.Channels, cfg.Accounts, cfg.Directory
	acts.SignOn, acts.AccountSignOn = cfg.SignOn, cfg.AccountSignOn
	acts.Limits.UserStarts, acts.Limits.AccountStarts = p.userStarts, p.accountStarts
	acts.WelcomeLinkTTL, acts.ResetLinkTTL = p.welcomeLinkTTL, p.resetLinkTTL
	return h, acts, nil
}

func hasSpec(specs []host.Spec, name string) bool {
	return slices.ContainsFunc(specs, func(s host.Spec) bool { return s.Name == name })
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hash plugin: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash plugin %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// runPlugin implements `flexauth plugin serve|list|check`.
func runPlugin(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		return errors.New("usage: flexauth plugin serve NAME | list [flags] | check PATH [key=value ...]")
	}
	switch args[0] {
	case "serve":
		// The host re-executes this binary so that built-in plugins run in
		// their own process, exactly like external ones. Nothing may be
		// written to stdout first: it carries go-plugin's handshake.
		if len(args) != 2 {
			return errors.New("usage: flexauth plugin serve NAME")
		}
		serve, ok := builtinPlugins()[args[1]]
		if !ok {
			return fmt.Errorf("no built-in plugin %q", args[1])
		}
		serve()
		return nil
	case "list":
		return listPlugins(ctx, args[1:], stdout, logger)
	case "check":
		return checkPlugin(ctx, args[1:], stdout, logger)
	}
	return fmt.Errorf("unknown plugin command %q", args[0])
}

// builtinPlugins are the plugins compiled into flexauth, each served in its
// own process by `flexauth plugin serve NAME`. The directory and oidc are
// identity plugins ("kind": "identity" in the plugin configuration).
func builtinPlugins() map[string]func() {
	return map[string]func(){
		"outbox": func() { sdk.ServeDelivery(outbox.New()) },
		"smtp": func() {
			m := smtp.New()
			sdk.ServeDelivery(m)
			m.Close() // QUIT on the idle connections
		},
		"sms":       func() { sdk.ServeDelivery(sms.New()) },
		"webhook":   func() { sdk.ServeDelivery(webhook.New()) },
		"directory": func() { sdk.ServeIdentity(directory.New()) },
		"oidc":      func() { sdk.ServeIdentity(oidc.New()) },
	}
}

func listPlugins(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("plugin list", flag.ContinueOnError)
	var pf pluginFlags
	pf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	set, err := pf.load(logger)
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(builtinPlugins()))
	fmt.Fprintf(stdout, "built in: %s (\"builtin\": NAME in the plugin configuration)\n", strings.Join(names, ", "))
	self, _ := os.Executable()
	failed := 0
	for _, s := range set.specs {
		pinned := fmt.Sprintf("pinned sha256 %x", s.Checksum)
		switch {
		case s.Command[0] == self:
			pinned = "built in"
		case set.unpinned[s.Name]:
			pinned = "UNPINNED: no sha256 configured"
		}
		fmt.Fprintf(stdout, "%s: %s (%s; %s)\n", s.Name, strings.Join(s.Command, " "), pinned, routes(set.cfg, s.Name))
		res, err := checkSpec(ctx, logger, s)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "  FAIL %v\n", err)
			continue
		}
		fmt.Fprintf(stdout, "  ok: %s %s, %s plugin, protocol %d, %s\n", res.Info.Name, res.Info.Version, res.Info.Kind, res.ProtocolVersion, capabilities(res.Info))
	}
	for _, r := range set.refused {
		failed++
		fmt.Fprintf(stdout, "%s: %s (REFUSED, not run)\n  REFUSED %s\n", r.Name, r.Path, r.Reason)
	}
	total := len(set.specs) + len(set.refused)
	if failed > 0 {
		return fmt.Errorf("%d of %d plugins failed their check or were refused", failed, total)
	}
	return nil
}

// routes says what the plugin named name is used for: the channels it
// delivers (account/channel for an account's own), the directory, sign-on.
func routes(cfg host.Config, name string) string {
	var serves []string
	for ch, n := range cfg.Channels {
		if n == name {
			serves = append(serves, ch)
		}
	}
	for account, channels := range cfg.Accounts {
		for ch, n := range channels {
			if n == name {
				serves = append(serves, account+"/"+ch)
			}
		}
	}
	slices.Sort(serves)
	var uses []string
	if len(serves) > 0 {
		uses = append(uses, "delivers "+strings.Join(serves, ", "))
	}
	if cfg.Directory == name {
		uses = append(uses, "the directory")
	}
	if cfg.SignOn == name {
		uses = append(uses, "sign-on")
	}
	for _, account := range slices.Sorted(maps.Keys(cfg.AccountSignOn)) {
		if cfg.AccountSignOn[account] == name {
			uses = append(uses, "sign-on of "+account)
		}
	}
	if len(uses) == 0 {
		return "delivers no channel"
	}
	return strings.Join(uses, "; ")
}

// checkPlugin implements `flexauth plugin check PATH [key=value ...]`: the
// handshake, protocol version and capabilities of one executable, and its
// answer to a configuration when one is given.
func checkPlugin(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		return errors.New("usage: flexauth plugin check PATH [key=value ...]")
	}
	spec := host.Spec{Name: "check", Command: []string{args[0]}}
	for _, kv := range args[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("configuration %q is not key=value", kv)
		}
		if spec.Config == nil {
			spec.Config = map[string]string{}
		}
		spec.Config[k] = v
	}
	sum, err := fileSHA256(args[0])
	if err != nil {
		return err
	}
	res, err := checkSpec(ctx, logger, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "plugin   %s %s\nkind     %s\nprotocol %d\noffers   %s\nsha256   %x\n", res.Info.Name, res.Info.Version,
		res.Info.Kind, res.ProtocolVersion, capabilities(res.Info), sum)
	if spec.Config != nil {
		if res.ConfigureErr != nil {
			return fmt.Errorf("configuration refused: %w", res.ConfigureErr)
		}
		fmt.Fprintln(stdout, "configuration accepted")
	}
	return nil
}

// capabilities says what a plugin offers: channels for delivery plugins,
// capabilities (lookup, ...) for identity plugins.
func capabilities(info sdk.Info) string {
	if info.Kind == sdk.KindIdentity {
		return "capabilities " + strings.Join(info.Capabilities, ", ")
	}
	return "channels " + strings.Join(info.Channels, ", ")
}

func checkSpec(ctx context.Context, logger *slog.Logger, s host.Spec) (host.CheckResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return host.Check(ctx, logger, s)
}
