package api_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
)

// harness is one flexauth deployment (deploytest) as the api tests drive
// it: a real Temporal server and the production worker, a real store on a
// SQLite file, each account's active policy, and a recording delivery
// plugin. Its account has an app key and an admin key.
type harness struct {
	*deploytest.Deployment
	t      *testing.T
	outbox *recordingDeliverer
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
	h := &harness{t: t, outbox: &recordingDeliverer{}}
	deploy := []deploytest.Option{deploytest.WithTemporalClient(func(c *client.Options) {
		// Warnings only, to stderr: the suite's hundreds of deployments
		// would otherwise each keep Temporal's debug log.
		c.Logger = tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}), deploytest.WithAPI(func(c *api.Config) {
		if opts.startFloor != 0 {
			c.StartFloor = opts.startFloor
		}
		c.MaxBodyBytes, c.DevOutbox, c.TrustedProxies = opts.maxBodyBytes, opts.devOutbox, opts.trustedProxies
		c.PolicyReview = opts.policyReview
	})}
	if opts.configure != nil {
		deploy = append(deploy, deploytest.WithAPI(opts.configure))
	}
	if opts.adminOnly {
		deploy = append(deploy, deploytest.WithoutTemporal())
	}
	var st *store.Store
	if opts.database != "" {
		st = storetest.Open(t, opts.database)
	} else {
		st = storetest.SQLite(t)
	}
	d := deploytest.New(t, st, h.outbox, deploy...)
	api.SetClock(d.API, func() time.Time { return time.Now().Add(time.Duration(h.skew.Load())) })
	h.Deployment = d
	return h
}

type req = map[string]any

// adminAs calls the admin API as h.Admin does and decodes the answer into
// T, one of the contract's types (apitest.User, ...), strictly.
func adminAs[T any](h *harness, method, path string, body any, want int) T {
	h.t.Helper()
	return apitest.AdminAs[T](h.Client, method, path, body, want)
}

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
