package api_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/worker"
	"github.com/flexauth/flexauth/workflows"
)

// harness is one flexauth deployment behind httptest: a real Temporal
// server and worker, a real store on a SQLite file, the real default
// policy, and a recording delivery plugin. Its account has an app key and
// an admin key.
type harness struct {
	*apitest.Client
	t        *testing.T
	url      string
	appKey   string
	adminKey string
	st       *store.Store
	keys     *secret.Keyring
	tc       client.Client
	outbox   *recordingDeliverer
	account  string
	api      *api.Server
	// skew moves the API's clock ahead of real time (see advance); the
	// workflows keep real time.
	skew atomic.Int64
}

type harnessOptions struct {
	startFloor   time.Duration // default 1ns: tests need not wait
	maxBodyBytes int64
	// adminOnly skips Temporal: the admin API never calls it.
	adminOnly bool
	// database is a PostgreSQL DSN the store runs on instead of SQLite,
	// for the races SQLite's one writer at a time cannot show.
	database string
	// devOutbox serves this outbox file as `flexauth dev` does.
	devOutbox string
	// configure changes the API's configuration last. The per-client-IP
	// limits are off unless it sets them: every test client is 127.0.0.1.
	configure func(*api.Config)
	// trustedProxies believe X-Forwarded-For from these addresses, so a
	// test can choose the client IP.
	trustedProxies []string
	// policyReview bounds policy reviews (default: the API's defaults);
	// the review child is this test binary (see TestMain).
	policyReview policies.ReviewerConfig
}

func newHarness(t *testing.T) *harness {
	return newHarnessWith(t, harnessOptions{})
}

func newHarnessWith(t *testing.T, opts harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, outbox: &recordingDeliverer{}, account: "acme"}

	var st *store.Store
	if opts.database != "" {
		st = storetest.Open(t, opts.database)
	} else {
		st = storetest.SQLite(t)
	}
	h.st = st

	master := bytes.Repeat([]byte{7}, secret.MasterKeySize)
	var err error
	if h.keys, err = secret.New(master); err != nil {
		t.Fatal(err)
	}
	// The worker decides as in production: with each account's active
	// policy from the store, the built-in one until an account uploads its own.
	policy := policies.NewRegistry(st)
	if err := policy.Preload(ctx); err != nil {
		t.Fatal(err)
	}

	// Links carry the API's URL, and the API needs the Temporal client:
	// listen first, hand over the handler once it is built.
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h.url = srv.URL

	if !opts.adminOnly {
		quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		// The API and the worker share the keyring, so they read each
		// other's encrypted payloads, as in production.
		ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseClientOptions(payloadcodec.ClientOptions(h.keys, client.Options{Logger: quiet})))
		h.tc = ts.GetDefaultClient()
		acts := activities.New(st, policy, h.outbox, h.keys, activities.Config{PublicURL: h.url, Passwords: apitest.PasswordRules{}}, nil)
		ts.NewWorkerWithOptions(workflows.TaskQueue, func(r sdkworker.Registry) { worker.Register(r, acts) }, sdkworker.Options{})
	}

	off := api.IPLimit{PerSecond: -1}
	cfg := api.Config{
		PublicURL: h.url, StartFloor: opts.startFloor, MaxBodyBytes: opts.maxBodyBytes, DevOutbox: opts.devOutbox,
		AppIPLimit: off, BrowserIPLimit: off, SignInIPLimit: off, TrustedProxies: opts.trustedProxies,
		PolicyReview: opts.policyReview, PasswordRules: apitest.PasswordRules{},
	}
	if cfg.StartFloor == 0 {
		cfg.StartFloor = time.Nanosecond
	}
	if opts.configure != nil {
		opts.configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h.api = api.New(cfg, st, h.tc, h.keys)
	api.SetClock(h.api, func() time.Time { return time.Now().Add(time.Duration(h.skew.Load())) })
	handler = h.api.Handler()
	// Cleanups run last first: the sign-ins started in the background reach
	// Temporal before its test server stops.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.api.Shutdown(ctx); err != nil {
			t.Errorf("shut down the api: %v", err)
		}
	})

	now := time.Now().UTC()
	if err := st.CreateAccount(ctx, &store.Account{ID: h.account, Name: "Acme", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	h.appKey = h.newKey(store.ScopeApp, secret.AppKeyPrefix)
	h.adminKey = h.newKey(store.ScopeAdmin, secret.AdminKeyPrefix)
	h.Client = &apitest.Client{T: t, URL: h.url, AppKey: h.appKey, AdminKey: h.adminKey}
	return h
}

func (h *harness) newKey(scope, prefix string) string {
	h.t.Helper()
	key, err := secret.NewAPIKey(prefix)
	if err != nil {
		h.t.Fatal(err)
	}
	err = h.st.CreateAPIKey(context.Background(), &store.APIKey{
		ID: uuid.NewString(), AccountID: h.account, Name: scope + " key", Scope: scope,
		Hash: secret.HashAPIKey(key), CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return key
}

type req = map[string]any

// recordingDeliverer stands in for the delivery plugin: it keeps every
// message so that tests can read the link or code a user would receive.
type recordingDeliverer struct {
	mu   sync.Mutex
	sent []sdk.SendRequest
}

var _ activities.Plugins = (*recordingDeliverer)(nil)

// Lookup answers as a directory that knows nobody.
func (d *recordingDeliverer) Lookup(context.Context, string, sdk.LookupRequest) (sdk.Identity, error) {
	return sdk.Identity{}, nil
}

// Authorize and Exchange answer as a host without a sign-on plugin (the
// e2e tests sign on through a real OIDC provider).
func (d *recordingDeliverer) Authorize(context.Context, string, sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error) {
	return sdk.AuthorizeResponse{}, sdk.Permanent(errors.New("no sign-on plugin in the api tests"))
}

func (d *recordingDeliverer) Exchange(context.Context, string, sdk.ExchangeRequest) (sdk.Claims, error) {
	return sdk.Claims{}, sdk.Permanent(errors.New("no sign-on plugin in the api tests"))
}

func (d *recordingDeliverer) Send(_ context.Context, _ string, req sdk.SendRequest) (sdk.SendResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, req)
	return sdk.SendResponse{MessageID: req.ID}, nil
}

// sentTo waits for the n-th message (from 1) sent to the address to.
func (d *recordingDeliverer) sentTo(t *testing.T, to string, n int) sdk.SendRequest {
	t.Helper()
	return d.sentWhere(t, to, n, func(sdk.SendRequest) bool { return true })
}

// sentWhere waits for the n-th message to to that match accepts.
func (d *recordingDeliverer) sentWhere(t *testing.T, to string, n int, match func(sdk.SendRequest) bool) sdk.SendRequest {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		seen := 0
		for _, m := range d.sent {
			if m.To == to && match(m) {
				if seen++; seen == n {
					d.mu.Unlock()
					return m
				}
			}
		}
		d.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no message %d to %s within 10s", n, to)
	return sdk.SendRequest{}
}

// countTo is how many messages went to the address to so far.
func (d *recordingDeliverer) countTo(to string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, m := range d.sent {
		if m.To == to {
			n++
		}
	}
	return n
}

// message waits for the message of an attempt.
func (d *recordingDeliverer) message(t *testing.T, attemptID string) sdk.SendRequest {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, m := range d.sent {
			if m.Attempt == attemptID {
				d.mu.Unlock()
				return m
			}
		}
		d.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no message for attempt %s within 10s", attemptID)
	return sdk.SendRequest{}
}
