package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/hashicorp/go-plugin"

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

	// lock is a one-slot semaphore rather than a sync.Mutex so that callers
	// queued behind a slow launch can give up when their context ends. It
	// guards the fields below.
	lock     chan struct{}
	client   *plugin.Client
	delivery sdk.Delivery
	closed   bool
}

// New returns a Host for specs. No process is started until a plugin is
// first used.
func New(logger *slog.Logger, specs ...Spec) (*Host, error) {
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
			lock:   make(chan struct{}, 1),
		}
	}
	return h, nil
}

// Send delivers req through the named plugin, launching it on first use and
// relaunching it (and configuring it again) if its process has exited. The
// call's deadline comes from ctx.
//
// Errors wrap sdk.ErrPermanent when retrying cannot help (unknown plugin,
// checksum mismatch, rejected configuration or request). A process that died
// during the call gives a temporary error wrapping sdk.ErrPluginExited; the
// next call relaunches it.
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

// Info describes the named plugin, launching it if needed.
func (h *Host) Info(ctx context.Context, name string) (sdk.Info, error) {
	d, err := h.delivery(ctx, name)
	if err != nil {
		return sdk.Info{}, fmt.Errorf("describe plugin %q: %w", name, err)
	}
	info, err := d.Info(ctx)
	if err != nil {
		return sdk.Info{}, fmt.Errorf("describe plugin %q: %w", name, err)
	}
	return info, nil
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

// delivery returns a running, configured plugin.
func (h *Host) delivery(ctx context.Context, name string) (sdk.Delivery, error) {
	p, ok := h.plugins[name]
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrUnknownPlugin, sdk.ErrPermanent)
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
		return p.delivery, nil
	}
	if p.client != nil {
		p.logger.Warn("plugin process exited; relaunching")
		p.stop()
	}
	if err := p.launch(ctx); err != nil {
		return nil, err
	}
	return p.delivery, nil
}

// launch starts the plugin process and configures it. The caller holds
// p.lock.
func (p *process) launch(ctx context.Context) error {
	client, d, err := start(p.spec, p.logger)
	if err != nil {
		return err
	}
	if err := d.Configure(ctx, p.spec.Config); err != nil {
		client.Kill()
		return err
	}

	p.client, p.delivery = client, d
	attrs := []any{"version", client.NegotiatedVersion()}
	if rc := client.ReattachConfig(); rc != nil {
		attrs = append(attrs, "pid", rc.Pid)
	}
	p.logger.Info("plugin launched", attrs...)
	return nil
}

// start launches the plugin process of spec and completes the handshake,
// without configuring it.
func start(spec Spec, logger *slog.Logger) (*plugin.Client, sdk.Delivery, error) {
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Env = childEnv()

	var secure *plugin.SecureConfig
	if len(spec.Checksum) > 0 {
		// A fresh hash per launch: SecureConfig accumulates into it.
		secure = &plugin.SecureConfig{Checksum: spec.Checksum, Hash: sha256.New()}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.HandshakeConfig(),
		VersionedPlugins: sdk.VersionedPlugins(nil),
		Cmd:              cmd,
		// cmd.Env is the whole environment; without this go-plugin would
		// append the host's.
		SkipHostEnv:      true,
		SecureConfig:     secure,
		AutoMTLS:         true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogger(logger),
		StartTimeout:     startTimeout,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, nil, fmt.Errorf("launch %s: %w: %w", spec.Command[0], ErrChecksumMismatch, sdk.ErrPermanent)
		}
		return nil, nil, fmt.Errorf("launch %s: %w", spec.Command[0], err)
	}
	d, err := sdk.DispenseDelivery(rpc)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("launch %s: %w", spec.Command[0], err)
	}
	return client, d, nil
}

// CheckResult is what `flexauth plugin check` reports.
type CheckResult struct {
	ProtocolVersion int
	Info            sdk.Info
	// ConfigureErr is the plugin's answer to the configuration it was
	// given (nil when it accepted it, or none was given).
	ConfigureErr error
}

// Check launches the plugin of spec once, as the host would (handshake,
// protocol negotiation, checksum), asks for its Info, offers it spec.Config
// when there is one, and stops it.
func Check(ctx context.Context, logger *slog.Logger, spec Spec) (CheckResult, error) {
	if err := spec.validate(); err != nil {
		return CheckResult{}, err
	}
	client, d, err := start(spec, logger)
	if err != nil {
		return CheckResult{}, err
	}
	defer client.Kill()
	res := CheckResult{ProtocolVersion: client.NegotiatedVersion()}
	if res.Info, err = d.Info(ctx); err != nil {
		return res, fmt.Errorf("describe plugin: %w", err)
	}
	if len(spec.Config) > 0 {
		res.ConfigureErr = d.Configure(ctx, spec.Config)
	}
	return res, nil
}

// stop kills the current process, if any. The caller holds p.lock.
func (p *process) stop() {
	if p.client != nil {
		p.client.Kill()
	}
	p.client, p.delivery = nil, nil
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
