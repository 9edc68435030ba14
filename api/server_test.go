package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/internal/syncbuf"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// brokenTemporal is a Temporal client at the boundary: every call fails
// with err, after running before (which may change the store, as a
// workflow finishing meanwhile would).
type brokenTemporal struct {
	err    error
	before func()
}

func (b brokenTemporal) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (b brokenTemporal) UpdateWithStartWorkflow(context.Context, client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if b.before != nil {
		b.before()
	}
	return nil, b.err
}

func (b brokenTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if b.before != nil {
		b.before()
	}
	return nil, b.err
}

func (b brokenTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, b.err
}

func (b brokenTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return nil, b.err
}

// fixture is a Server on a real store with one account, an app key, and a
// pending PIN attempt and a pending link attempt.
type fixture struct {
	t      *testing.T
	st     *store.Store
	keys   *secret.Keyring
	appKey string
	token  string
	pinID  string
	logs   *syncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.SQLite(t)
	f := &fixture{t: t, st: st, keys: testKeyring(t), logs: &syncBuffer{}}
	now := time.Now().UTC()
	var err error
	must(t, st.CreateAccount(ctx, &store.Account{ID: "acme", Name: "Acme", CreatedAt: now}))
	if f.appKey, err = secret.NewAPIKey(secret.AppKeyPrefix); err != nil {
		t.Fatal(err)
	}
	must(t, st.CreateAPIKey(ctx, &store.APIKey{ID: "k1", AccountID: "acme", Name: "app", Scope: store.ScopeApp,
		Hash: secret.HashAPIKey(f.appKey), CreatedAt: now}))
	if f.token, err = secret.NewToken(); err != nil {
		t.Fatal(err)
	}
	expires := now.Add(5 * time.Minute)
	f.pinID = "attempt-pin"
	for _, a := range []store.Attempt{
		{ID: f.pinID, AccountID: "acme", System: "vpn", AuthID: "bob", WorkflowID: "wf-pin", RunID: "run-pin",
			State: store.AttemptPending, Method: "pin", StartedAt: now, ExpiresAt: &expires, UpdatedAt: now},
		{ID: "attempt-link", AccountID: "acme", System: "wiki", AuthID: "alice", WorkflowID: "wf-link", RunID: "run-link",
			State: store.AttemptPending, Method: "passwordless", LinkDigest: attempt.LinkDigest(f.keys, f.token),
			StartedAt: now, ExpiresAt: &expires, UpdatedAt: now},
	} {
		_, err := st.InsertAttempt(ctx, &a)
		must(t, err)
	}
	return f
}

func (f *fixture) server(wf workflowClient) *Server {
	// httptest.NewRequest's Host is example.com.
	s := newServer(Config{PublicURL: "http://example.com", StartFloor: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(f.logs, nil))}, f.st, wf, f.keys)
	// Background work (a code judged after its answer) ends before the
	// store closes and its folder is removed: cleanups run last first.
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			f.t.Errorf("shut the server down: %v", err)
		}
	})
	return s
}

func (f *fixture) post(t *testing.T, h http.Handler, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("apikey", f.appKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestTemporalOutageIsServiceUnavailable(t *testing.T) {
	f := newFixture(t)
	h := f.server(brokenTemporal{err: serviceerror.NewUnavailable("connection refused")}).Handler()

	tests := []struct {
		name string
		path string
		body string
	}{
		{"start", "/v1/start", `{"system":"vpn","authid":"bob"}`},
		{"check with a pin", "/v1/check", `{"system":"vpn","authid":"bob","pin":"12345678"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" answers 503", func(t *testing.T) {
			rec := f.post(t, h, tt.path, tt.body)
			if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != `{"error":"service unavailable"}` {
				t.Fatalf("POST %s = %d %s", tt.path, rec.Code, rec.Body.String())
			}
		})
	}
	t.Run("check without a pin still answers from the store", func(t *testing.T) {
		if rec := f.post(t, h, "/v1/check", `{"system":"vpn","authid":"bob"}`); rec.Code != http.StatusAccepted {
			t.Fatalf("check = %d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("confirming a link answers a 503 page", func(t *testing.T) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/l/"+f.token, nil)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "unavailable") {
			t.Fatalf("POST link = %d %s", rec.Code, rec.Body.String())
		}
	})
}

func TestRequestLogHidesSecrets(t *testing.T) {
	f := newFixture(t)
	s := f.server(brokenTemporal{err: serviceerror.NewUnavailable("down")})
	h := s.Handler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/l/"+f.token, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET link = %d", rec.Code)
	}
	f.post(t, h, "/v1/check", `{"system":"vpn","authid":"bob","pin":"87654321"}`)

	logs := f.logs.String()
	for _, secret := range []string{f.token, f.appKey, "87654321"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{"path=/l/REDACTED", "path=/v1/check", "status=503", "method=GET"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}

func TestPanicIsAnswered500(t *testing.T) {
	f := newFixture(t)
	s := f.server(nil)
	s.engine.GET("/boom", func(*gin.Context) { panic("boom") })
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/boom", nil)
	r.Header.Set("apikey", "fa_admin_secret")
	s.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != `{"error":"internal error"}` {
		t.Fatalf("panicking handler = %d %s", rec.Code, rec.Body.String())
	}
	if logs := f.logs.String(); !strings.Contains(logs, "panic serving request") || strings.Contains(logs, "fa_admin_secret") {
		t.Fatalf("log after a panic:\n%s", logs)
	}
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	h := newServer(Config{PublicURL: "http://example.com"}, nil, nil, testKeyring(t)).Handler()
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v1/nothing", http.StatusNotFound},
		{http.MethodGet, "/v1/start", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status || !strings.HasPrefix(rec.Body.String(), `{"error":`) {
			t.Errorf("%s %s = %d %s, want %d JSON", tt.method, tt.path, rec.Code, rec.Body.String(), tt.status)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// syncBuffer collects output written from other goroutines.
type syncBuffer = syncbuf.Buffer
