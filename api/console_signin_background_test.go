package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// stuckTemporal is a Temporal that does not answer until released: a
// cluster under load. It counts the attempts it was asked to start.
type stuckTemporal struct {
	starts  atomic.Int32
	release chan struct{}
}

func (s *stuckTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, nil
}

func (s *stuckTemporal) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (s *stuckTemporal) UpdateWithStartWorkflow(ctx context.Context, _ client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	s.starts.Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return nil, errors.New("temporal was stuck")
}

func (s *stuckTemporal) UpdateWorkflow(ctx context.Context, _ client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *stuckTemporal) ExecuteWorkflow(ctx context.Context, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// The console's sign-in answers before anything is looked up or started,
// so a slow Temporal (or store) shows in no answer; the work it starts
// afterwards is bounded, and the server waits for it when it shuts down.
func TestConsoleSignInAnswersBeforeStarting(t *testing.T) {
	f := newFixture(t)
	wf := &stuckTemporal{release: make(chan struct{})}
	s := f.server(wf)
	h := s.Handler()
	signIn := func(account, authid string) time.Duration {
		t.Helper()
		began := time.Now()
		rec := f.post(t, h, "/v1/admin/session", `{"account":"`+account+`","authid":"`+authid+`"}`)
		took := time.Since(began)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), `{"result":"pending","expires_at":"`) {
			t.Fatalf("sign-in of %s/%s = %d %s", account, authid, rec.Code, rec.Body.String())
		}
		return took
	}

	// A known account while Temporal is stuck, and an unknown one: both
	// answered at once, and only the known account reaches Temporal.
	if took := signIn("acme", "bob"); took > 2*time.Second {
		t.Fatalf("the sign-in waited %v for Temporal", took)
	}
	signIn("no-such-account", "bob")
	waitFor(t, func() bool { return wf.starts.Load() == 1 }, "the known account's attempt to reach Temporal")

	// Shutting down waits for the attempt in flight.
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown with a start in flight = %v, want it to wait", err)
	}
	close(wf.release)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown after the start finished = %v", err)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "start console sign-in") || strings.Contains(logs, "bob") {
		t.Fatalf("the failed start is not logged, or logged with the user:\n%s", logs)
	}

	// After shutdown, a sign-in is still answered; its work is dropped.
	signIn("acme", "bob")
	if n := wf.starts.Load(); n != 1 {
		t.Fatalf("%d starts reached Temporal after shutdown, want none", n-1)
	}
}

func TestConsoleSignInWorkIsBounded(t *testing.T) {
	f := newFixture(t)
	wf := &stuckTemporal{release: make(chan struct{})}
	s := newServer(Config{
		PublicURL: "http://example.com", StartFloor: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		SignInIPLimit: IPLimit{PerSecond: -1}, // every request comes from one address
	}, f.st, wf, f.keys)
	h := s.Handler()
	for i := 0; i < maxBackground+3; i++ {
		// A sign-in each for many users: one user's would stop at the
		// console's start limits before reaching the bound.
		rec := f.post(t, h, "/v1/admin/session", fmt.Sprintf(`{"account":"acme","authid":"bob%d"}`, i))
		if rec.Code != http.StatusOK {
			t.Fatalf("sign-in %d = %d %s", i, rec.Code, rec.Body.String())
		}
	}
	waitFor(t, func() bool { return wf.starts.Load() == maxBackground }, "the sign-ins in flight to reach Temporal")
	if logs := f.logs.String(); strings.Count(logs, "console sign-in dropped") != 3 {
		t.Fatalf("want 3 dropped sign-ins logged:\n%s", logs)
	}
	close(wf.release)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := wf.starts.Load(); n != maxBackground {
		t.Fatalf("%d starts reached Temporal, want %d", n, maxBackground)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
