package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/worker"
)

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// productionFlags are shared by `api` and `worker`.
type productionFlags struct {
	database  string
	temporal  string
	namespace string
	publicURL string
	grace     string
}

// defaultShutdownGrace is how long a stopping process lets its work
// finish: the worker's default stop timeout, Docker's default
// stop_grace_period, after which it kills.
const defaultShutdownGrace = worker.DefaultStopTimeout

func (p *productionFlags) register(fs *flag.FlagSet) {
	// No default from the environment: flag prints a string flag's default
	// in -h and after a mistyped flag, and this one holds a password.
	fs.StringVar(&p.database, "database", "", "PostgreSQL URL (default: env FLEXAUTH_DATABASE_URL)")
	fs.StringVar(&p.temporal, "temporal", envOr("FLEXAUTH_TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env FLEXAUTH_TEMPORAL_ADDRESS)")
	fs.StringVar(&p.namespace, "namespace", envOr("FLEXAUTH_TEMPORAL_NAMESPACE", "default"), "Temporal namespace")
	fs.StringVar(&p.publicURL, "public-url", envOr("FLEXAUTH_PUBLIC_URL", ""), "base URL of links sent to users (env FLEXAUTH_PUBLIC_URL)")
	fs.StringVar(&p.grace, "shutdown-grace", envOr("FLEXAUTH_SHUTDOWN_GRACE", defaultShutdownGrace.String()),
		"on SIGTERM, how long requests in flight (api) or running activities (worker) may take to finish (env FLEXAUTH_SHUTDOWN_GRACE)")
}

// shutdownGrace is --shutdown-grace, checked.
func (p *productionFlags) shutdownGrace() (time.Duration, error) {
	d, err := time.ParseDuration(p.grace)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--shutdown-grace %q: want a positive duration such as 10s", p.grace)
	}
	return d, nil
}

func (p *productionFlags) keyring() (*secret.Keyring, error) {
	return envKeyring()
}

// envKeyring builds the keyring from FLEXAUTH_MASTER_KEY, or from the file
// FLEXAUTH_MASTER_KEY_FILE names (a Docker or Kubernetes secret: a value in
// the environment shows in `docker inspect` and in the process's
// /proc/PID/environ).
func envKeyring() (*secret.Keyring, error) {
	raw, file := os.Getenv("FLEXAUTH_MASTER_KEY"), os.Getenv("FLEXAUTH_MASTER_KEY_FILE")
	switch {
	case raw != "" && file != "":
		return nil, errors.New("both FLEXAUTH_MASTER_KEY and FLEXAUTH_MASTER_KEY_FILE are set: set one")
	case file != "":
		return fileKeyring(file)
	case raw == "":
		return nil, errors.New("FLEXAUTH_MASTER_KEY (32 random bytes, base64) or FLEXAUTH_MASTER_KEY_FILE is not set")
	}
	key, err := secret.ParseMasterKey(raw)
	if err != nil {
		return nil, fmt.Errorf("FLEXAUTH_MASTER_KEY: %w", err)
	}
	return newKeyring(key)
}

// fileKeyring builds the keyring from the master key in file (base64,
// surrounding white space ignored).
func fileKeyring(file string) (*secret.Keyring, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	key, err := secret.ParseMasterKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return newKeyring(key)
}

// newKeyring builds the keyring from the master key and, during a
// rotation, FLEXAUTH_PREVIOUS_MASTER_KEYS (comma-separated, base64): the
// previous keys only open what was sealed under them (workflow payloads,
// TOTP seeds); everything new uses master.
func newKeyring(master []byte) (*secret.Keyring, error) {
	previous, err := secret.ParseMasterKeys(os.Getenv("FLEXAUTH_PREVIOUS_MASTER_KEYS"))
	if err != nil {
		return nil, fmt.Errorf("FLEXAUTH_PREVIOUS_MASTER_KEYS: %w", err)
	}
	return secret.New(master, previous...)
}

// openStore opens and migrates the store at dsn (--database), or else at
// FLEXAUTH_DATABASE_URL.
func openStore(ctx context.Context, dsn string, opts ...store.Option) (*store.Store, error) {
	if dsn == "" {
		dsn = os.Getenv("FLEXAUTH_DATABASE_URL")
	}
	if dsn == "" {
		return nil, errors.New("no database: pass --database or set FLEXAUTH_DATABASE_URL")
	}
	st, err := store.Open(ctx, dsn, opts...)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, errors.Join(err, st.Close())
	}
	return st, nil
}

// dialTemporal connects to Temporal with flexauth's payload codec: what
// the client and its workers write is encrypted with keys. metrics takes
// the SDK's own metrics (temporalmetrics.go); configure adds further
// options (tracing interceptors).
func dialTemporal(hostPort, namespace string, keys *secret.Keyring, metrics client.MetricsHandler, logger *slog.Logger, configure ...func(*client.Options)) (client.Client, error) {
	opts := client.Options{
		HostPort:       hostPort,
		Namespace:      namespace,
		MetricsHandler: metrics,
		// Temporal's own chatter stays at warn; flexauth logs what matters.
		Logger: tlog.NewStructuredLogger(slog.New(levelFilter{logger.Handler(), slog.LevelWarn})),
	}
	resumeQuickly(&opts)
	for _, c := range configure {
		c(&opts)
	}
	c, err := client.Dial(payloadcodec.ClientOptions(keys, opts))
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", hostPort, err)
	}
	return c, nil
}

// resumeQuickly makes a client carry on within about a second of the
// Temporal server's return from an outage, instead of up to 10 s later:
// gRPC's reconnect backoff stops growing at 1 s (the SDK sets 10 s), and
// a worker's task polls wait for the connection instead of failing into
// the SDK's own poll backoff (also up to 10 s). Other calls still fail
// fast while the server is down, so the API answers 503 at once.
func resumeQuickly(o *client.Options) {
	o.ConnectionOptions.DialOptions = append(o.ConnectionOptions.DialOptions,
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 20 * time.Second,
		}),
		grpc.WithChainUnaryInterceptor(pollsWaitForConnection))
}

// pollsWaitForConnection lets the worker's long polls for tasks wait for
// the connection; each has its own deadline and is cancelled when the
// worker stops.
func pollsWaitForConnection(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	switch method {
	case "/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue",
		"/temporal.api.workflowservice.v1.WorkflowService/PollActivityTaskQueue",
		"/temporal.api.workflowservice.v1.WorkflowService/PollNexusTaskQueue":
		opts = append(opts, grpc.WaitForReady(true))
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// levelFilter drops records below min.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (l levelFilter) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.min && l.Handler.Enabled(ctx, lv)
}

func newActivities(ctx context.Context, st *store.Store, plugins *host.Host, keys *secret.Keyring, cfg activities.Config, logger *slog.Logger) *activities.Activities {
	// Each account decides with its active policy (uploaded through the
	// admin API) or the built-in default.
	policy := policies.NewRegistry(st)
	if err := policy.Preload(ctx); err != nil {
		// Fail closed but keep serving: every attempt decided by the
		// built-in policy is denied with this reason in the audit trail,
		// where an administrator will see it.
		logger.Error("built-in policy failed to load; attempts it decides will be denied", "error", err)
	}
	// Recovery codes of earlier versions were stored sealed; they are kept
	// as digests now. A code that fails to convert cannot sign in (closed).
	if n, err := activities.ConvertRecoveryCodes(ctx, st, keys); err != nil {
		logger.Error("recovery codes stored sealed could not all be converted; those left cannot sign in", "converted", n, "error", err)
	} else if n > 0 {
		logger.Info("recovery codes converted to digests", "count", n)
	}
	return activities.New(st, policy, plugins, keys, cfg, nil)
}

func newAPI(st *store.Store, tc client.Client, keys *secret.Keyring, cfg api.Config) *api.Server {
	return api.New(cfg, st, tc, keys)
}

// edgeFlags are the HTTP edge settings of `api` and `dev`: the Host names
// served, the proxies believed, and the per-client-IP limits.
type edgeFlags struct {
	allowedHosts   string
	trustedProxies string
	clientIPHeader string
	appLimit       string
	browserLimit   string
	signInLimit    string
}

func (e *edgeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.allowedHosts, "allowed-hosts", envOr("FLEXAUTH_ALLOWED_HOSTS", ""),
		"Host names served besides the public URL's and the listen address, comma-separated, NAME (any port) or NAME:PORT; others get 421 (env FLEXAUTH_ALLOWED_HOSTS)")
	fs.StringVar(&e.trustedProxies, "trusted-proxies", envOr("FLEXAUTH_TRUSTED_PROXIES", ""),
		"IP addresses or CIDRs of the proxies whose client IP header is believed, comma-separated; none by default (env FLEXAUTH_TRUSTED_PROXIES)")
	fs.StringVar(&e.clientIPHeader, "client-ip-header", envOr("FLEXAUTH_CLIENT_IP_HEADER", "X-Forwarded-For"),
		"header in which a trusted proxy passes the client's address, e.g. X-Real-IP (env FLEXAUTH_CLIENT_IP_HEADER)")
	fs.StringVar(&e.appLimit, "app-ip-limit", envOr("FLEXAUTH_APP_IP_LIMIT", api.DefaultAppIPLimit),
		"per-client-IP limit of start and check: RATE,BURST with RATE as N/s, N/m or N/h; -1: none (env FLEXAUTH_APP_IP_LIMIT)")
	fs.StringVar(&e.browserLimit, "browser-ip-limit", envOr("FLEXAUTH_BROWSER_IP_LIMIT", api.DefaultBrowserIPLimit),
		"per-client-IP limit of the link pages, the sign-on callback and console sign-in checks; -1: none (env FLEXAUTH_BROWSER_IP_LIMIT)")
	fs.StringVar(&e.signInLimit, "signin-ip-limit", envOr("FLEXAUTH_SIGNIN_IP_LIMIT", api.DefaultSignInIPLimit),
		"per-client-IP limit of starting a console sign-in; -1: none (env FLEXAUTH_SIGNIN_IP_LIMIT)")
}

// apply puts the flags into cfg and checks the whole: a value that does
// not parse stops the start, rather than trusting nobody or serving nothing
// in silence.
func (e *edgeFlags) apply(cfg *api.Config) error {
	var errs []error
	cfg.AllowedHosts = splitList(e.allowedHosts)
	cfg.TrustedProxies = splitList(e.trustedProxies)
	cfg.ClientIPHeader = strings.TrimSpace(e.clientIPHeader)
	for _, l := range []struct {
		flag, value string
		into        *api.IPLimit
	}{
		{"--app-ip-limit", e.appLimit, &cfg.AppIPLimit},
		{"--browser-ip-limit", e.browserLimit, &cfg.BrowserIPLimit},
		{"--signin-ip-limit", e.signInLimit, &cfg.SignInIPLimit},
	} {
		v, err := api.ParseIPLimit(l.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.flag, err))
		}
		*l.into = v
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return cfg.Validate()
}

// splitList reads a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// shutdowner is work that drains after the HTTP server stops (the API's
// background sign-ins).
type shutdowner interface {
	Shutdown(ctx context.Context) error
}

// drainer is what stops being ready before the HTTP server closes (the
// API's /readyz).
type drainer interface {
	Drain()
}

// stopping is how a server stops once asked to: drainDelay with /readyz
// answering 503 while requests are still served (so that a load balancer
// that probes takes the replica out before its listener closes), then
// grace for the requests in flight.
type stopping struct {
	drainDelay time.Duration
	grace      time.Duration
}

// serveHTTP serves h on addr until ctx ends, then drains requests, then
// waits for after (the API's background work: console sign-ins it has
// answered but not yet handed to Temporal).
func serveHTTP(ctx context.Context, srv *http.Server, after ...shutdowner) error {
	return serveHTTPGrace(ctx, srv, stopping{grace: defaultShutdownGrace}, after...)
}

// serveHTTPGrace is serveHTTP with the times of the stop: once ctx ends,
// after stops being ready; drainDelay later the listener closes (new
// connections are refused, so a load balancer moves on to the other
// replicas) and requests in flight have grace to finish.
func serveHTTPGrace(ctx context.Context, srv *http.Server, stop stopping, after ...shutdowner) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http on %s: %w", srv.Addr, err)
	case <-ctx.Done():
	}
	for _, a := range after {
		if d, ok := a.(drainer); ok {
			d.Drain()
		}
	}
	if stop.drainDelay > 0 {
		select {
		case err := <-errc:
			return fmt.Errorf("serve http on %s: %w", srv.Addr, err)
		case <-time.After(stop.drainDelay):
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stop.grace)
	defer cancel()
	errs := []error{srv.Shutdown(shutdownCtx)}
	for _, a := range after {
		errs = append(errs, a.Shutdown(shutdownCtx))
	}
	return errors.Join(errs...)
}

func newHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}
