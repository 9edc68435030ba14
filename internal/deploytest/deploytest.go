package deploytest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/historytest"
	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/worker"
)

// Account is the account every deployment starts with.
const Account = "acme"

// WorkerOptions are the options the deployment's worker runs with: those
// `flexauth worker` and `flexauth dev` pass to worker.Start by default.
// StopTimeout is their default --shutdown-grace: a test's cleanup
// lets the activities under way finish, as a worker stopped by SIGTERM
// does. CacheSize 0 keeps the SDK's 10,000 sticky workflows, their default
// --workflow-cache; leaving it 0 also leaves the SDK's process-wide cache
// setting alone, which parallel tests would otherwise all write.
func WorkerOptions() worker.Options {
	return worker.Options{StopTimeout: worker.DefaultStopTimeout}
}

// Deployment is one flexauth deployment: the API behind httptest and its
// worker on a Temporal test server, sharing the caller's store and a
// keyring as in production, and the account Account with an app key and an
// admin key, which the embedded Client calls with.
type Deployment struct {
	*apitest.Client
	URL      string
	AppKey   string
	AdminKey string
	Store    *store.Store
	Keys     *secret.Keyring
	// Temporal is the client the API and the worker share; nil without
	// Temporal (WithoutTemporal).
	Temporal client.Client
	API      *api.Server
	t        testing.TB
}

// Option changes one part of a deployment.
type Option func(*config)

type config struct {
	policy        activities.Policy
	acts          []func(*activities.Config)
	realPasswords bool
	workerNow     func() time.Time
	api           []func(*api.Config)
	temporal      []func(*client.Options)
	noTemporal    bool
}

// WithPolicy has the worker decide with p instead of each account's
// active policy (policies.Registry, as in production).
func WithPolicy(p activities.Policy) Option {
	return func(c *config) { c.policy = p }
}

// WithActivities changes the worker's activities configuration; PublicURL
// is the deployment's already.
func WithActivities(f func(*activities.Config)) Option {
	return func(c *config) { c.acts = append(c.acts, f) }
}

// WithRealPasswords has the worker verify passwords with flexauth's own
// argon2id rules instead of apitest.PasswordRules, the quick stand-in.
func WithRealPasswords() Option {
	return func(c *config) { c.realPasswords = true }
}

// WithWorkerClock gives the activities the clock now (TOTP steps, expiry
// checks); Temporal's timers keep real time.
func WithWorkerClock(now func() time.Time) Option {
	return func(c *config) { c.workerNow = now }
}

// WithAPI changes the API's configuration, after the deployment's
// defaults: the stand-in password rules, a start floor of 1ns (tests need
// not wait), and the per-client-IP limits off (every test client is
// 127.0.0.1).
func WithAPI(f func(*api.Config)) Option {
	return func(c *config) { c.api = append(c.api, f) }
}

// WithTemporalClient changes the options of the Temporal client the API
// and the worker share (its logger, tracing interceptors); the payload
// codec is added after.
func WithTemporalClient(f func(*client.Options)) Option {
	return func(c *config) { c.temporal = append(c.temporal, f) }
}

// WithoutTemporal runs no Temporal server and no worker, for tests of the
// admin API, which never calls them.
func WithoutTemporal() Option {
	return func(c *config) { c.noTemporal = true }
}

// New starts a deployment on st, which it migrates no further, delivering
// and asking identities through plugins. Everything stops in t's cleanup:
// the API first (its background sign-ins reach Temporal before it stops),
// then the worker, then the Temporal server.
func New(t testing.TB, st *store.Store, plugins activities.Plugins, opts ...Option) *Deployment {
	t.Helper()
	ctx := context.Background()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	d := &Deployment{t: t, Store: st}

	// Histories saved for the replay test (FLEXAUTH_SAVE_HISTORIES) are
	// encrypted with this key, which the replay test holds.
	var err error
	if d.Keys, err = secret.New(historytest.MasterKey()); err != nil {
		t.Fatal(err)
	}

	// Links carry the API's URL, and the API needs the Temporal client:
	// listen first, hand over the handler once it is built.
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	d.URL = srv.URL

	if !cfg.noTemporal {
		d.Temporal = startWorker(ctx, t, d, plugins, cfg)
	}

	off := api.IPLimit{PerSecond: -1}
	apiCfg := api.Config{
		PublicURL: d.URL, StartFloor: time.Nanosecond, PasswordRules: apitest.PasswordRules{},
		AppIPLimit: off, BrowserIPLimit: off, SignInIPLimit: off,
	}
	for _, f := range cfg.api {
		f(&apiCfg)
	}
	if err := apiCfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d.API = api.New(apiCfg, st, d.Temporal, d.Keys)
	handler = d.API.Handler()
	// Cleanups run last first: the sign-ins the API started in the
	// background reach Temporal before the worker and the server stop.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.API.Shutdown(ctx); err != nil {
			t.Errorf("shut down the api: %v", err)
		}
	})

	if err := st.CreateAccount(ctx, &store.Account{ID: Account, Name: "Acme", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	d.AppKey = d.NewKey(store.ScopeApp, secret.AppKeyPrefix)
	d.AdminKey = d.NewKey(store.ScopeAdmin, secret.AdminKeyPrefix)
	d.Client = &apitest.Client{T: t, URL: d.URL, AppKey: d.AppKey, AdminKey: d.AdminKey}
	return d
}

// startWorker starts a Temporal test server and, on it, the worker as
// production starts it, and returns the client they share.
func startWorker(ctx context.Context, t testing.TB, d *Deployment, plugins activities.Plugins, cfg config) client.Client {
	t.Helper()
	// The API and the worker share the keyring, so they read each other's
	// encrypted payloads, as in production.
	// No logger unless an option sets one: temporaltest then logs to t,
	// shown when a test fails.
	var copts client.Options
	for _, f := range cfg.temporal {
		f(&copts)
	}
	codec := temporaltest.WithBaseClientOptions(payloadcodec.ClientOptions(d.Keys, copts))
	var ts *temporaltest.TestServer
	if tt, ok := t.(*testing.T); ok {
		ts = temporaltest.NewServer(temporaltest.WithT(tt), codec)
	} else {
		// Benchmarks: WithT takes a *testing.T only.
		ts = temporaltest.NewServer(codec)
		t.Cleanup(ts.Stop)
	}
	tc := ts.GetDefaultClient()

	policy := cfg.policy
	if policy == nil {
		// As in production: each account's active policy from the store,
		// the built-in one until the account uploads its own.
		reg := policies.NewRegistry(d.Store)
		if err := reg.Preload(ctx); err != nil {
			t.Fatal(err)
		}
		policy = reg
	}
	actsCfg := activities.Config{PublicURL: d.URL}
	for _, f := range cfg.acts {
		f(&actsCfg)
	}
	if actsCfg.Passwords == nil && !cfg.realPasswords {
		// The worker reads the hashes the API's stand-in rules store.
		actsCfg.Passwords = apitest.PasswordRules{}
	}
	acts := activities.New(d.Store, policy, plugins, d.Keys, actsCfg, cfg.workerNow)
	// The worker production runs, with its options (FailWorkflow, the stop
	// timeout): not temporaltest's NewWorker, whose options are its own.
	w, err := worker.Start(tc, acts, WorkerOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the server's own cleanup, so it runs before it.
	t.Cleanup(w.Stop)
	return tc
}

// NewKey makes an API key of scope for the account and returns it.
func (d *Deployment) NewKey(scope, prefix string) string {
	d.t.Helper()
	key, err := secret.NewAPIKey(prefix)
	if err != nil {
		d.t.Fatal(err)
	}
	err = d.Store.CreateAPIKey(context.Background(), &store.APIKey{
		ID: uuid.NewString(), AccountID: Account, Name: scope + " key", Scope: scope,
		Hash: secret.HashAPIKey(key), CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return key
}
