package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/internal/pgtest"
	"github.com/flexauth/flexauth/internal/tracing"
	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
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

// harness is one flexauth deployment (deploytest) as the e2e tests drive
// it: its own database, Temporal server and production worker, plugin
// processes (the outbox always) and API, and an account with an app and an
// admin key.
type harness struct {
	*deploytest.Deployment
	t testing.TB
	// outbox is the outbox plugin's file.
	outbox string
	// browser keeps cookies across pages, for the flows bound to one
	// browser (single sign-on's callback).
	browser *apitest.Client
	dsn     string // the harness's own database
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
	plugins   []host.Spec
	devOutbox bool
	now       func() time.Time
	// tracing instruments the API, Temporal, the plugins and the store.
	tracing *tracing.Tracing
	// deploy are the options of the deployment beneath.
	deploy []deploytest.Option
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
		c.deploy = append(c.deploy, deploytest.WithActivities(func(a *activities.Config) { a.Directory = "people" }))
	}
}

// withSignOn runs the oidc plugin, configured with config, as the sign-on
// plugin for method sso.
func withSignOn(config map[string]string) option {
	return func(c *harnessConfig) {
		c.plugins = append(c.plugins, host.Spec{Name: "idp", Kind: sdk.KindIdentity, Command: []string{oidcBin}, Config: config})
		c.deploy = append(c.deploy, deploytest.WithActivities(func(a *activities.Config) { a.SignOn = "idp" }))
	}
}

// withPlugins runs these plugin processes, besides the outbox, and routes
// channels to them.
func withPlugins(channels map[string]string, specs ...host.Spec) option {
	return func(c *harnessConfig) {
		c.plugins = append(c.plugins, specs...)
		c.deploy = append(c.deploy, deploytest.WithActivities(func(a *activities.Config) { a.Channels = channels }))
	}
}

// withoutStartLimits lifts the start rate limits, for benchmarks.
func withoutStartLimits() option {
	return func(c *harnessConfig) {
		c.deploy = append(c.deploy, deploytest.WithActivities(func(a *activities.Config) {
			a.Limits.UserStarts, a.Limits.AccountStarts = -1, -1
		}))
	}
}

// withRealPasswords has the worker verify passwords with argon2id.
func withRealPasswords() option {
	return func(c *harnessConfig) { c.deploy = append(c.deploy, deploytest.WithRealPasswords()) }
}

// withPolicy replaces each account's active policy (the built-in one).
func withPolicy(p activities.Policy) option {
	return func(c *harnessConfig) { c.deploy = append(c.deploy, deploytest.WithPolicy(p)) }
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

	plugins, err := host.NewWithOptions(slog.New(slog.DiscardHandler), cfg.tracing.Plugins(),
		append(cfg.plugins, host.Spec{Name: "outbox", Command: []string{outboxBin}, Config: map[string]string{"path": h.outbox}})...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plugins.Close)

	traceTemporal, err := cfg.tracing.Temporal()
	if err != nil {
		t.Fatal(err)
	}
	apiNow := cfg.now
	if apiNow == nil {
		apiNow = time.Now
	}
	deploy := append(cfg.deploy, deploytest.WithTemporalClient(traceTemporal), deploytest.WithWorkerClock(h.now),
		deploytest.WithAPI(func(c *api.Config) {
			c.StartFloor = time.Millisecond
			c.Now = func() time.Time { return apiNow().Add(time.Duration(h.ahead.Load())) }
			if cfg.devOutbox {
				c.DevOutbox = h.outbox
			}
			c.Tracing = cfg.tracing.API()
		}))
	d := deploytest.New(t, st, plugins, deploy...)
	h.Deployment = d
	h.browser = d.Browser()
	return h
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
	sys, err := h.Store.GetSystem(ctx, "acme", name)
	if err != nil {
		h.t.Fatal(err)
	}
	sys.TTLSeconds = seconds
	if err := h.Store.UpdateSystem(ctx, &sys); err != nil {
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
