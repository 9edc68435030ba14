package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flexauth/flexauth/plugins/internal/grpcclient"
	"github.com/flexauth/flexauth/plugins/internal/wire"
	"github.com/flexauth/flexauth/plugins/sdk"
)

var (
	// ErrUnknownPlugin is returned (wrapped together with sdk.ErrPermanent)
	// for a plugin name the Host was not given.
	ErrUnknownPlugin = errors.New("unknown plugin")
	// ErrChecksumMismatch is returned (wrapped together with
	// sdk.ErrPermanent) when a plugin executable does not match its Spec's
	// checksum: a replaced binary is never run, and retrying cannot help
	// until an operator intervenes.
	ErrChecksumMismatch = errors.New("plugin executable does not match its checksum")
	// ErrClosed is returned after Close. It is temporary: the caller's
	// retry may land on a worker that is still running.
	ErrClosed = errors.New("plugin host closed")
)

// startTimeout bounds how long a plugin process may take to start and
// announce its address. Launches are shared by all callers of one plugin, so
// they are not bound to any one caller's context.
const startTimeout = 30 * time.Second

// Host launches and talks to plugin processes. It is safe for concurrent
// use; plugins are launched lazily, once, and relaunched after they exit.
type Host struct {
	// plugins is filled by New and only read afterwards, so it needs no
	// lock; each process guards its own state.
	plugins map[string]*process
}

// process is one plugin and its current child process, if any.
type process struct {
	spec   Spec
	logger *slog.Logger
	dial   []grpc.DialOption

	// lock is a one-slot semaphore rather than a sync.Mutex so that callers
	// queued behind a slow launch can give up when their context ends. It
	// guards the fields below.
	lock   chan struct{}
	client *plugin.Client
	// impl is the dispensed sdk.Delivery or sdk.IdentityProvider, as
	// spec.Kind says.
	impl   kindPlugin
	closed bool
}

// kindPlugin is what the clients of every plugin kind have in common.
type kindPlugin interface {
	Info(ctx context.Context) (sdk.Info, error)
	Configure(ctx context.Context, req sdk.ConfigureRequest) error
}

// New returns a Host for specs. No process is started until a plugin is
// first used.
func New(logger *slog.Logger, specs ...Spec) (*Host, error) {
	return NewWithOptions(logger, Options{}, specs...)
}

// Options are the host's settings besides its plugins.
type Options struct {
	// DialOptions are added to the gRPC connection to every plugin
	// process: e.g. a stats handler that traces each call and passes the
	// trace context to the plugin.
	DialOptions []grpc.DialOption
}

// NewWithOptions is New with opts.
func NewWithOptions(logger *slog.Logger, opts Options, specs ...Spec) (*Host, error) {
	h := &Host{plugins: make(map[string]*process, len(specs))}
	for _, s := range specs {
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("new plugin host: %w", err)
		}
		if _, dup := h.plugins[s.Name]; dup {
			return nil, fmt.Errorf("new plugin host: plugin %q given twice", s.Name)
		}
		// Copy what the caller could still modify.
		s.Command = slices.Clone(s.Command)
		s.Config = maps.Clone(s.Config)
		s.Checksum = slices.Clone(s.Checksum)
		h.plugins[s.Name] = &process{
			spec:   s,
			logger: logger.With("plugin", s.Name),
			dial:   slices.Clone(opts.DialOptions),
			lock:   make(chan struct{}, 1),
		}
	}
	return h, nil
}

// Send delivers req through the named delivery plugin, launching it on first
// use and relaunching it (and configuring it again) if its process has
// exited. The call's deadline comes from ctx.
//
// Errors wrap sdk.ErrPermanent when retrying cannot help (unknown plugin,
// checksum mismatch, rejected configuration or request, a plugin of another
// kind: sdk.ErrWrongKind). A process that died during the call gives a
// temporary error wrapping sdk.ErrPluginExited; the next call relaunches it.
func (h *Host) Send(ctx context.Context, name string, req sdk.SendRequest) (sdk.SendResponse, error) {
	d, err := h.delivery(ctx, name)
	if err != nil {
		return sdk.SendResponse{}, fmt.Errorf("deliver through plugin %q: %w", name, err)
	}
	resp, err := d.Send(ctx, req)
	if err != nil {
		return sdk.SendResponse{}, fmt.Errorf("deliver through plugin %q: %w", name, err)
	}
	return resp, nil
}

// Lookup resolves a user through the named identity plugin, with the same
// launch, relaunch and error semantics as Send. A user the plugin does not
// know is sdk.Identity{Found: false} and a nil error. Using a delivery
// plugin here fails with sdk.ErrWrongKind (permanent).
func (h *Host) Lookup(ctx context.Context, name string, req sdk.LookupRequest) (sdk.Identity, error) {
	impl, err := h.running(ctx, name, sdk.KindIdentity)
	if err != nil {
		return sdk.Identity{}, fmt.Errorf("look up user through plugin %q: %w", name, err)
	}
	idp, ok := impl.(sdk.IdentityProvider)
	if !ok {
		return sdk.Identity{}, fmt.Errorf("look up user through plugin %q: %w: %w: dispensed %T", name, sdk.ErrWrongKind, sdk.ErrPermanent, impl)
	}
	id, err := idp.Lookup(ctx, req)
	if err != nil {
		return sdk.Identity{}, fmt.Errorf("look up user through plugin %q: %w", name, err)
	}
	return id, nil
}

// Authorize starts an OpenID Connect sign-in through the named identity
// plugin (capability sdk.CapabilitySignOn), with the same launch, relaunch
// and error semantics as Lookup: it returns the provider's authorization
// URL. A plugin without the capability fails permanently.
func (h *Host) Authorize(ctx context.Context, name string, req sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error) {
	so, err := h.signOn(ctx, name)
	if err != nil {
		return sdk.AuthorizeResponse{}, fmt.Errorf("authorize sign-in through plugin %q: %w", name, err)
	}
	resp, err := so.Authorize(ctx, req)
	if err != nil {
		return sdk.AuthorizeResponse{}, fmt.Errorf("authorize sign-in through plugin %q: %w", name, err)
	}
	return resp, nil
}

// Exchange ends an OpenID Connect sign-in through the named identity
// plugin, with the same semantics as Authorize: it redeems the code and
// returns the verified ID token's claims. A token the plugin refuses (bad
// signature, audience, nonce, expiry) or a code the provider refuses is a
// permanent error; an unreachable or failing provider, a temporary one.
func (h *Host) Exchange(ctx context.Context, name string, req sdk.ExchangeRequest) (sdk.Claims, error) {
	so, err := h.signOn(ctx, name)
	if err != nil {
		return sdk.Claims{}, fmt.Errorf("exchange sign-in code through plugin %q: %w", name, err)
	}
	c, err := so.Exchange(ctx, req)
	if err != nil {
		return sdk.Claims{}, fmt.Errorf("exchange sign-in code through plugin %q: %w", name, err)
	}
	return c, nil
}

// signOn returns the named identity plugin running and configured, as a
// SignOn. The host's identity client always is one; whether the plugin
// offers the capability shows on the call.
func (h *Host) signOn(ctx context.Context, name string) (sdk.SignOn, error) {
	impl, err := h.running(ctx, name, sdk.KindIdentity)
	if err != nil {
		return nil, err
	}
	so, ok := impl.(sdk.SignOn)
	if !ok {
		return nil, fmt.Errorf("%w: %w: dispensed %T", sdk.ErrWrongKind, sdk.ErrPermanent, impl)
	}
	return so, nil
}

// Info describes the named plugin, of either kind, launching it if needed.
// Info.Kind is the kind it serves.
func (h *Host) Info(ctx context.Context, name string) (sdk.Info, error) {
	d, err := h.running(ctx, name, "")
	if err != nil {
		return sdk.Info{}, fmt.Errorf("describe plugin %q: %w", name, err)
	}
	info, err := d.Info(ctx)
	if err != nil {
		return sdk.Info{}, fmt.Errorf("describe plugin %q: %w", name, err)
	}
	return info, nil
}

// Ready launches every plugin that is not running, as its first use would,
// and reports those that fail (readiness probes). The launch is shared by
// every caller, so it is not bound to ctx: a probe that gives up leaves it
// to finish within startTimeout and finds the plugin running next time.
func (h *Host) Ready(ctx context.Context) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(h.plugins)) {
		launch, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
		done := make(chan error, 1)
		go func() {
			defer cancel()
			_, err := h.running(launch, name, "")
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("plugin %q: %w", name, err))
			}
		case <-ctx.Done():
			return fmt.Errorf("plugin %q: still launching: %w", name, ctx.Err())
		}
	}
	return errors.Join(errs...)
}

// Close kills all plugin processes and waits for them to exit. Calls after
// Close fail with ErrClosed.
func (h *Host) Close() {
	for _, p := range h.plugins {
		p.lock <- struct{}{}
		p.closed = true
		p.stop()
		<-p.lock
	}
}

// delivery returns a running, configured delivery plugin.
func (h *Host) delivery(ctx context.Context, name string) (sdk.Delivery, error) {
	impl, err := h.running(ctx, name, sdk.KindDelivery)
	if err != nil {
		return nil, err
	}
	d, ok := impl.(sdk.Delivery)
	if !ok {
		return nil, fmt.Errorf("%w: %w: dispensed %T", sdk.ErrWrongKind, sdk.ErrPermanent, impl)
	}
	return d, nil
}

// running returns the named plugin running and configured. kind, unless
// empty, is the kind the caller needs; a plugin configured as another kind
// is refused before it is launched.
func (h *Host) running(ctx context.Context, name, kind string) (kindPlugin, error) {
	p, ok := h.plugins[name]
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrUnknownPlugin, sdk.ErrPermanent)
	}
	if kind != "" && p.spec.kind() != kind {
		return nil, fmt.Errorf("%w: %w: it is configured as %s plugin, not %s", sdk.ErrWrongKind, sdk.ErrPermanent, withArticle(p.spec.kind()), kind)
	}
	select {
	case p.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.lock }()

	if p.closed {
		return nil, ErrClosed
	}
	if p.client != nil && !p.client.Exited() {
		return p.impl, nil
	}
	if p.client != nil {
		p.logger.Warn("plugin process exited; relaunching")
		p.stop()
	}
	if err := p.launch(ctx); err != nil {
		return nil, err
	}
	return p.impl, nil
}

// launch starts the plugin process and configures it. The caller holds
// p.lock.
func (p *process) launch(ctx context.Context) error {
	client, rpc, err := start(p.spec, p.logger, p.dial)
	if err != nil {
		return err
	}
	impl, err := dispense(rpc, p.spec.kind())
	if err == nil {
		// Configure is the first call, so it is where a plugin of another
		// kind shows.
		if err = impl.Configure(ctx, sdk.ConfigureRequest{Config: p.spec.Config}); errors.Is(err, sdk.ErrWrongKind) {
			err = explainKind(ctx, rpc, p.spec, err)
		}
	}
	if err != nil {
		client.Kill()
		return err
	}

	p.client, p.impl = client, impl
	attrs := []any{"kind", p.spec.kind(), "version", client.NegotiatedVersion()}
	if rc := client.ReattachConfig(); rc != nil {
		attrs = append(attrs, "pid", rc.Pid)
	}
	p.logger.Info("plugin launched", attrs...)
	return nil
}

// start launches the plugin process of spec and completes the handshake,
// without dispensing or configuring it.
func start(spec Spec, logger *slog.Logger, dial []grpc.DialOption) (*plugin.Client, plugin.ClientProtocol, error) {
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Env = childEnv()
	if cmd.Err != nil {
		return nil, nil, fmt.Errorf("launch %s: %w", spec.Command[0], cmd.Err)
	}
	if len(spec.Checksum) > 0 {
		// Checked at every launch, and the checked bytes are what runs.
		release, err := pinExecutable(spec, cmd)
		if err != nil {
			return nil, nil, err
		}
		defer release()
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: wire.HandshakeConfig(),
		// Every kind: the process serves one, and the first call to it
		// tells whether it is the one dispensed.
		VersionedPlugins: grpcclient.VersionedPlugins(),
		Cmd:              cmd,
		// cmd.Env is the whole environment; without this go-plugin would
		// append the host's.
		SkipHostEnv:      true,
		AutoMTLS:         true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogger(logger),
		StartTimeout:     startTimeout,
		GRPCDialOptions:  dial,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("launch %s: %w", spec.Command[0], err)
	}
	return client, rpc, nil
}

// dispense returns the client for kind from a started process. It makes no
// call, so it succeeds whatever kind the process serves.
func dispense(rpc plugin.ClientProtocol, kind string) (kindPlugin, error) {
	switch kind {
	case sdk.KindDelivery:
		return grpcclient.DispenseDelivery(rpc)
	case sdk.KindIdentity:
		return grpcclient.DispenseIdentity(rpc)
	}
	return nil, fmt.Errorf("%w: unknown plugin kind %q", sdk.ErrPermanent, kind)
}

// explainKind adds to a wrong-kind error the kind the process does serve,
// found by asking each other kind's Info, so the operator learns which
// "kind" to configure rather than only that this one is wrong.
func explainKind(ctx context.Context, rpc plugin.ClientProtocol, spec Spec, wrong error) error {
	for _, kind := range kinds() {
		if kind == spec.kind() {
			continue
		}
		impl, err := dispense(rpc, kind)
		if err != nil {
			continue
		}
		if _, err := impl.Info(ctx); err == nil {
			return fmt.Errorf("%s is %s plugin, configured as %s: %w", spec.Command[0], withArticle(kind), spec.kind(), wrong)
		}
	}
	return fmt.Errorf("%s serves no %s protocol: %w", spec.Command[0], spec.kind(), wrong)
}

// withArticle reads "a delivery", "an identity".
func withArticle(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// CheckResult is what `flexauth plugin check` reports.
type CheckResult struct {
	ProtocolVersion int
	// Info is what the plugin says about itself; Info.Kind is the kind it
	// serves and Info.Capabilities what an identity plugin can do.
	Info sdk.Info
	// ConfigureErr is the plugin's answer to the configuration it was
	// given (nil when it accepted it, or none was given).
	ConfigureErr error
}

// Check launches the plugin of spec once, as the host would (handshake,
// protocol negotiation, checksum), asks for its Info, offers it spec.Config
// when there is one, and stops it.
//
// Unlike New, Check reads an empty spec.Kind as "find out": it tries every
// kind, so `flexauth plugin check PATH` needs no kind to report one. A
// kind that is set must be the one the plugin serves.
func Check(ctx context.Context, logger *slog.Logger, spec Spec) (CheckResult, error) {
	if err := spec.validate(); err != nil {
		return CheckResult{}, err
	}
	client, rpc, err := start(spec, logger, nil)
	if err != nil {
		return CheckResult{}, err
	}
	defer client.Kill()
	res := CheckResult{ProtocolVersion: client.NegotiatedVersion()}
	try := kinds()
	if spec.Kind != "" {
		try = []string{spec.Kind}
	}
	var impl kindPlugin
	for _, kind := range try {
		if impl, err = dispense(rpc, kind); err != nil {
			return res, fmt.Errorf("describe plugin: %w", err)
		}
		if res.Info, err = impl.Info(ctx); !errors.Is(err, sdk.ErrWrongKind) {
			break
		}
	}
	if errors.Is(err, sdk.ErrWrongKind) {
		if spec.Kind != "" {
			err = explainKind(ctx, rpc, spec, err)
		} else {
			err = fmt.Errorf("%s serves none of the plugin protocols (%s): %w", spec.Command[0], strings.Join(kinds(), ", "), err)
		}
	}
	if err != nil {
		return res, fmt.Errorf("describe plugin: %w", err)
	}
	if len(spec.Config) > 0 {
		res.ConfigureErr = impl.Configure(ctx, sdk.ConfigureRequest{Config: spec.Config})
	}
	return res, nil
}

// stop kills the current process, if any. The caller holds p.lock.
func (p *process) stop() {
	if p.client != nil {
		p.client.Kill()
	}
	p.client, p.impl = nil, nil
}

// childEnv is the entire environment of a plugin process. Plugins get their
// settings through Configure; anything else in the worker's environment
// (database URLs, API keys) must not leak into third-party code.
func childEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
