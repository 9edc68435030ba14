package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
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
	t        *testing.T
	url      string
	appKey   string
	adminKey string
	st       *store.Store
	keys     *secret.Keyring
	tc       client.Client
	outbox   *recordingDeliverer
	account  string
}

type harnessOptions struct {
	startFloor   time.Duration // default 1ns: tests need not wait
	maxBodyBytes int64
	// adminOnly skips Temporal: the admin API never calls it.
	adminOnly bool
}

func newHarness(t *testing.T) *harness {
	return newHarnessWith(t, harnessOptions{})
}

func newHarnessWith(t *testing.T, opts harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, outbox: &recordingDeliverer{}, account: "acme"}

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "flexauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h.st = st

	master := bytes.Repeat([]byte{7}, secret.MasterKeySize)
	if h.keys, err = secret.New(master); err != nil {
		t.Fatal(err)
	}
	engine, err := policies.New(ctx, policies.Default())
	if err != nil {
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
		ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseClientOptions(client.Options{Logger: quiet}))
		h.tc = ts.GetDefaultClient()
		acts := activities.New(st, engine, h.outbox, h.keys, activities.Config{PublicURL: h.url}, nil)
		ts.NewWorkerWithOptions(workflows.TaskQueue, func(r sdkworker.Registry) { worker.Register(r, acts) }, sdkworker.Options{})
	}

	cfg := api.Config{PublicURL: h.url, StartFloor: opts.startFloor, MaxBodyBytes: opts.maxBodyBytes}
	if cfg.StartFloor == 0 {
		cfg.StartFloor = time.Nanosecond
	}
	handler = api.New(cfg, st, h.tc, h.keys).Handler()

	now := time.Now().UTC()
	if err := st.CreateAccount(ctx, &store.Account{ID: h.account, Name: "Acme", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	h.appKey = h.newKey(store.ScopeApp, secret.AppKeyPrefix)
	h.adminKey = h.newKey(store.ScopeAdmin, secret.AdminKeyPrefix)
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

// response is an HTTP answer, body read.
type response struct {
	status int
	header http.Header
	body   string
}

// json decodes the body into a map, failing the test if it is not an
// object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	out := map[string]any{}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return out
}

// do sends a request with a JSON body (a string is sent as is).
func (h *harness) do(method, path, key string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = h.url + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("apikey", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(raw)}
}

// admin calls the admin API and fails the test unless it answers want.
func (h *harness) admin(method, path string, body any, want int) map[string]any {
	h.t.Helper()
	res := h.do(method, path, h.adminKey, body)
	if res.status != want {
		h.t.Fatalf("%s %s = %d %s, want %d", method, path, res.status, res.body, want)
	}
	if res.body == "" {
		return nil
	}
	return res.json(h.t)
}

// app calls start or check with the app key.
func (h *harness) app(path string, body any) response {
	h.t.Helper()
	return h.do(http.MethodPost, path, h.appKey, body)
}

// expect asserts an app API answer, such as 202 {"result":"pending"}, and
// returns the whole body.
func (h *harness) expect(path string, body any, wantStatus int, wantResult string) map[string]any {
	h.t.Helper()
	res := h.app(path, body)
	got := res.json(h.t)
	if res.status != wantStatus || got["result"] != wantResult {
		h.t.Fatalf("POST %s %v = %d %s, want %d %q", path, body, res.status, res.body, wantStatus, wantResult)
	}
	return got
}

// start starts an attempt that the policy allows and returns its id.
func (h *harness) start(system, authid string) string {
	h.t.Helper()
	out := h.expect("/v1/start", req{"system": system, "authid": authid}, http.StatusOK, "success")
	id, _ := out["attempt"].(string)
	if id == "" {
		h.t.Fatalf("start answered no attempt id: %v", out)
	}
	return id
}

// setup creates a system and a user assigned to it with method.
func (h *harness) setup(system string, methods []string, sensitivity, authid, method string) {
	h.t.Helper()
	h.admin(http.MethodPost, "/v1/admin/systems", req{
		"name": system, "methods": methods, "sensitivity": sensitivity, "ttl_seconds": 300,
	}, http.StatusCreated)
	h.admin(http.MethodPost, "/v1/admin/users", req{
		"authid": authid, "name": "User " + authid, "email": authid + "@example.com",
	}, http.StatusCreated)
	h.admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", req{
		"assignments": []req{{"system": system, "method": method}},
	}, http.StatusOK)
}

// page fetches an end-user page without an API key.
func (h *harness) page(method, url string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(raw)}
}

// auditTypes returns the types of the events listed at query, and checks
// they come newest first.
func (h *harness) auditTypes(query string) []string {
	h.t.Helper()
	out := h.admin(http.MethodGet, "/v1/admin/audit?"+query, nil, http.StatusOK)
	events, _ := out["events"].([]any)
	types := make([]string, 0, len(events))
	last := -1.0
	for _, e := range events {
		ev := e.(map[string]any)
		id := ev["id"].(float64)
		if last >= 0 && id >= last {
			h.t.Fatalf("audit events are not newest first: %v", events)
		}
		last = id
		types = append(types, ev["type"].(string))
	}
	return types
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

func (d *recordingDeliverer) Send(_ context.Context, _ string, req sdk.SendRequest) (sdk.SendResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, req)
	return sdk.SendResponse{MessageID: req.ID}, nil
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
