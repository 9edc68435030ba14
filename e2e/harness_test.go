package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/historytest"
	"github.com/flexauth/flexauth/internal/pgtest"
	"github.com/flexauth/flexauth/internal/tracing"
	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/worker"
	"github.com/flexauth/flexauth/workflows"
)

var (
	cluster   *pgtest.Cluster
	outboxBin string
	smtpBin   string
	dirBin    string
	oidcBin   string
)

func TestMain(m *testing.M) {
	// The API reviews uploaded policies in a child process: this binary,
	// run again with policies.ReviewChildEnv set.
	if os.Getenv(policies.ReviewChildEnv) != "" {
		if err := policies.ServeReviewChild(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "review child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "flexauth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	outboxBin = filepath.Join(dir, "flexauth-outbox")
	smtpBin = filepath.Join(dir, "flexauth-smtp")
	dirBin = filepath.Join(dir, "flexauth-directory")
	oidcBin = filepath.Join(dir, "flexauth-oidc")
	for bin, pkg := range map[string]string{
		outboxBin: "github.com/flexauth/flexauth/plugins/delivery/outbox/cmd/flexauth-outbox",
		smtpBin:   "github.com/flexauth/flexauth/plugins/delivery/smtp/cmd/flexauth-smtp",
		dirBin:    "github.com/flexauth/flexauth/plugins/identity/directory/cmd/flexauth-directory",
		oidcBin:   "github.com/flexauth/flexauth/plugins/identity/oidc/cmd/flexauth-oidc",
	} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build plugin:", err)
			os.Exit(1)
		}
	}
	code := pgtest.Main(m, &cluster)
	os.RemoveAll(dir)
	os.Exit(code)
}

// harness is one flexauth deployment: its own database, Temporal server,
// plugin process and API, and an account with an app and an admin key.
type harness struct {
	*apitest.Client
	t        testing.TB
	url      string
	appKey   string
	adminKey string
	outbox   string
	st       *store.Store
	dsn      string // the harness's own database
	tc       client.Client
	keys     *secret.Keyring
	// ahead moves the deployment's clock (the API's and the worker's)
	// ahead of real time, so that a test needing a later TOTP step moves
	// the clock on instead of waiting for one (see totpClock). Temporal's
	// timers keep real time.
	ahead atomic.Int64
}

// now is the deployment's clock as the worker reads it: real time, moved
// on by ahead.
func (h *harness) now() time.Time { return time.Now().Add(time.Duration(h.ahead.Load())) }

// option changes one part of a harness.
type option func(*harnessConfig)

type harnessConfig struct {
	policy activities.Policy
	acts   activities.Config
	// realPasswords has the worker verify with flexauth's argon2id instead
	// of the tests' quick stand-in.
	realPasswords bool
	plugins       []host.Spec
	devOutbox     bool
	now           func() time.Time
	// tracing instruments the API, Temporal, the plugins and the store.
	tracing *tracing.Tracing
}

// withTracing makes spans with t, in every part, as the api and worker
// commands do.
func withTracing(tr *tracing.Tracing) option {
	return func(c *harnessConfig) { c.tracing = tr }
}

// withDevOutbox serves the outbox file at /v1/admin/dev/outbox, as
// `flexauth dev` does, for the console's sign-in page.
func withDevOutbox() option {
	return func(c *harnessConfig) { c.devOutbox = true }
}

// withClock gives the API the clock now, so that a test can move it past
// the console's session timeouts. The worker keeps real time (moved on, as
// the API's clock is, by the harness's ahead).
func withClock(now func() time.Time) option {
	return func(c *harnessConfig) { c.now = now }
}

// withDirectory runs the directory plugin on file and consults it.
func withDirectory(file string) option {
	return func(c *harnessConfig) {
		c.plugins = append(c.plugins, host.Spec{Name: "people", Kind: sdk.KindIdentity, Command: []string{dirBin}, Config: map[string]string{"path": file}})
		c.acts.Directory = "people"
	}
}

// withSignOn runs the oidc plugin, configured with config, as the sign-on
// plugin for method sso.
func withSignOn(config map[string]string) option {
	return func(c *harnessConfig) {
		c.plugins = append(c.plugins, host.Spec{Name: "idp", Kind: sdk.KindIdentity, Command: []string{oidcBin}, Config: config})
		c.acts.SignOn = "idp"
	}
}

// withPlugins runs these plugin processes, besides the outbox, and routes
// channels to them.
func withPlugins(channels map[string]string, specs ...host.Spec) option {
	return func(c *harnessConfig) { c.plugins, c.acts.Channels = append(c.plugins, specs...), channels }
}

// withoutStartLimits lifts the start rate limits, for benchmarks.
func withoutStartLimits() option {
	return func(c *harnessConfig) { c.acts.Limits.UserStarts, c.acts.Limits.AccountStarts = -1, -1 }
}

// withRealPasswords has the worker verify passwords with argon2id.
func withRealPasswords() option {
	return func(c *harnessConfig) { c.realPasswords = true }
}

// withPolicy replaces the default policy.
func withPolicy(p activities.Policy) option {
	return func(c *harnessConfig) { c.policy = p }
}

func newHarness(t testing.TB, opts ...option) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, outbox: filepath.Join(t.TempDir(), "outbox.jsonl")}
	var cfg harnessConfig
	for _, o := range opts {
		o(&cfg)
	}

	h.dsn = cluster.NewDatabase(t)
	st, err := store.Open(ctx, h.dsn, cfg.tracing.Store()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h.st = st

	// Histories saved for the replay test (FLEXAUTH_SAVE_HISTORIES) are
	// encrypted with this key, which the replay test holds.
	if h.keys, err = secret.New(historytest.MasterKey()); err != nil {
		t.Fatal(err)
	}

	plugins, err := host.NewWithOptions(slog.New(slog.DiscardHandler), cfg.tracing.Plugins(),
		append(cfg.plugins, host.Spec{Name: "outbox", Command: []string{outboxBin}, Config: map[string]string{"path": h.outbox}})...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plugins.Close)
	if cfg.policy == nil {
		engine, err := policies.New(ctx, policies.Default())
		if err != nil {
			t.Fatal(err)
		}
		cfg.policy = engine
	}

	// The API's URL goes into links, and the API needs the Temporal client:
	// start the listener first and hand it the handler once built.
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h.url = srv.URL

	// The API and the worker share the keyring and so read each other's
	// encrypted payloads, as in production.
	var copts client.Options
	traceTemporal, err := cfg.tracing.Temporal()
	if err != nil {
		t.Fatal(err)
	}
	traceTemporal(&copts)
	codec := temporaltest.WithBaseClientOptions(payloadcodec.ClientOptions(h.keys, copts))
	var ts *temporaltest.TestServer
	if tt, ok := t.(*testing.T); ok {
		ts = temporaltest.NewServer(temporaltest.WithT(tt), codec)
	} else {
		// Benchmarks: WithT takes a *testing.T only.
		ts = temporaltest.NewServer(codec)
		t.Cleanup(ts.Stop)
	}
	h.tc = ts.GetDefaultClient()
	cfg.acts.PublicURL = h.url
	if cfg.acts.Passwords == nil && !cfg.realPasswords {
		// The worker reads the hashes the API's stand-in rules store.
		cfg.acts.Passwords = apitest.PasswordRules{}
	}
	acts := activities.New(st, cfg.policy, plugins, h.keys, cfg.acts, h.now)
	ts.NewWorkerWithOptions(workflows.TaskQueue, func(r sdkworker.Registry) { worker.Register(r, acts) }, sdkworker.Options{})
	// The password rules are a stand-in for flexauth's own (package
	// password), quick to hash: 8 characters, "password123" refused.
	apiNow := cfg.now
	if apiNow == nil {
		apiNow = time.Now
	}
	apiCfg := api.Config{PublicURL: h.url, StartFloor: time.Millisecond, PasswordRules: apitest.PasswordRules{},
		Now: func() time.Time { return apiNow().Add(time.Duration(h.ahead.Load())) }}
	// Every client here is 127.0.0.1: the per-IP limits (tested in api/) are off.
	off := api.IPLimit{PerSecond: -1}
	apiCfg.AppIPLimit, apiCfg.BrowserIPLimit, apiCfg.SignInIPLimit = off, off, off
	if cfg.devOutbox {
		apiCfg.DevOutbox = h.outbox
	}
	apiCfg.Tracing = cfg.tracing.API()
	server := api.New(apiCfg, st, h.tc, h.keys)
	handler = server.Handler()
	// Cleanups run last first: console sign-ins started after their answer
	// reach Temporal before its test server stops.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			t.Errorf("shut down the api: %v", err)
		}
	})

	now := time.Now().UTC()
	if err := st.CreateAccount(ctx, &store.Account{ID: "acme", Name: "Acme", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	h.appKey = h.newKey(store.ScopeApp, secret.AppKeyPrefix)
	h.adminKey = h.newKey(store.ScopeAdmin, secret.AdminKeyPrefix)
	h.Client = &apitest.Client{T: t, URL: h.url, AppKey: h.appKey, AdminKey: h.adminKey}
	return h
}

func (h *harness) newKey(scope, prefix string) string {
	key, err := secret.NewAPIKey(prefix)
	if err != nil {
		h.t.Fatal(err)
	}
	err = h.st.CreateAPIKey(context.Background(), &store.APIKey{
		ID: uuid.NewString(), AccountID: "acme", Name: scope + " key", Scope: scope,
		Hash: secret.HashAPIKey(key), CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return key
}

// message is one line of the outbox.
type message struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Attempt string `json:"attempt"`
	Link    string `json:"link"`
	Code    string `json:"code"`
}

// setSystemTTL sets a system's ttl_seconds in the store, below the floor
// the admin API keeps for callers (30 s): the attempt's expiry, decided by
// the policy from the stored system and run out by the workflow's timer,
// takes seconds instead of half a minute.
func (h *harness) setSystemTTL(name string, seconds int) {
	h.t.Helper()
	ctx := context.Background()
	sys, err := h.st.GetSystem(ctx, "acme", name)
	if err != nil {
		h.t.Fatal(err)
	}
	sys.TTLSeconds = seconds
	if err := h.st.UpdateSystem(ctx, &sys); err != nil {
		h.t.Fatal(err)
	}
}

// waitAudit waits until the audit query (as /v1/admin/audit takes it)
// finds at least n events.
func (h *harness) waitAudit(query string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for len(h.AuditTypes(query)) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("fewer than %d audit events for %s within %s", n, query, waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitAttemptMessage waits for the outbox message of one attempt.
func (h *harness) waitAttemptMessage(attempt string) message {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := os.Open(h.outbox); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var m message
				if json.Unmarshal(sc.Bytes(), &m) == nil && m.Attempt == attempt {
					f.Close()
					return m
				}
			}
			f.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("no message of attempt %s in the outbox within 15s", attempt)
	return message{}
}

// waitMessage waits for the outbox message of attempt n to reach to (the
// n-th message to that address, from 1).
func (h *harness) waitMessage(to string, n int) message {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var found []message
		if f, err := os.Open(h.outbox); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var m message
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					f.Close()
					h.t.Fatalf("outbox line %q: %v", sc.Text(), err)
				}
				if m.To == to {
					found = append(found, m)
				}
			}
			f.Close()
		}
		if len(found) >= n {
			return found[n-1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("no message %d to %s in the outbox within 15s", n, to)
	return message{}
}
