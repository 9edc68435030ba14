package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/embedtemporal"
	"github.com/flexauth/flexauth/internal/health"
	"github.com/flexauth/flexauth/secret"
)

func TestWorkerHealthListener(t *testing.T) {
	ts, err := embedtemporal.Start(t.Context(), embedtemporal.Config{DatabasePath: filepath.Join(t.TempDir(), "temporal.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Stop() })
	t.Setenv("FLEXAUTH_MASTER_KEY", base64.StdEncoding.EncodeToString(make([]byte, secret.MasterKeySize)))
	addr := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runWorker(ctx, []string{"--database", filepath.Join(t.TempDir(), "flexauth.db"), "--temporal", ts.HostPort(),
			"--health-addr", addr}, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the worker did not stop within 30s")
		}
	})

	get := func(path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	var code int
	var body string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, body = get("/readyz"); code == http.StatusOK {
			break
		}
	}
	var rep struct {
		Status string
		Checks map[string]string
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != http.StatusOK || rep.Status != "ready" {
		t.Fatalf("readyz = %d %s", code, body)
	}
	for _, c := range []string{"store", "temporal", "plugins", "polling"} {
		if rep.Checks[c] != "ok" {
			t.Errorf("check %s = %q (%s)", c, rep.Checks[c], body)
		}
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz = %d %s", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines ") || !strings.Contains(body, "process_start_time_seconds ") {
		t.Errorf("metrics = %d %s", code, tail(body, 20))
	}
	// The Temporal SDK's own metrics, in the same registry: the client's
	// requests (it has dialled) and the worker's polls (it polls).
	if _, body := get("/metrics"); !strings.Contains(body, `temporal_request_total{`) || !strings.Contains(body, `temporal_long_request_total{`) {
		t.Errorf("the worker's metrics lack the Temporal SDK's:\n%s", body)
	}
}

// TestWorkerProfiles: the worker's profiles are served only when asked
// for, and never the command line (it may carry a database password).
func TestWorkerProfiles(t *testing.T) {
	for _, profiles := range []bool{false, true} {
		addr := freeAddr(t)
		hl, err := listenHealth(addr, health.NewReadiness(nil), nil, profiles)
		if err != nil {
			t.Fatal(err)
		}
		go hl.serve(slog.New(slog.DiscardHandler))
		status := func(path string) int {
			res, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			_, _ = io.Copy(io.Discard, res.Body)
			return res.StatusCode
		}
		want := http.StatusNotFound
		if profiles {
			want = http.StatusOK
		}
		for _, p := range []string{"/debug/pprof/heap", "/debug/pprof/allocs", "/debug/pprof/profile?seconds=1"} {
			if got := status(p); got != want {
				t.Errorf("profiles %v: GET %s = %d, want %d", profiles, p, got, want)
			}
		}
		for _, p := range []string{"/debug/pprof/cmdline", "/debug/pprof/", "/debug/pprof/trace", "/debug/pprof/goroutine?debug=2"} {
			if got := status(p); got != http.StatusNotFound {
				t.Errorf("profiles %v: GET %s = %d, want 404", profiles, p, got)
			}
		}
		if profiles {
			// A page that rebound its name to the worker's address.
			req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/debug/pprof/heap", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "attacker.example"
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("heap profile for Host attacker.example = %d, want 421", res.StatusCode)
			}
			for _, host := range []string{"localhost", "localhost:8081", "[::1]:8081"} {
				req.Host = host
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("heap profile for Host %s = %d, want 200", host, res.StatusCode)
				}
			}
		}
		if got := status("/healthz"); got != http.StatusOK {
			t.Errorf("profiles %v: healthz = %d", profiles, got)
		}
		if err := hl.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWorkerProfilesNeedTheHealthAddress(t *testing.T) {
	err := runWorker(t.Context(), []string{"--health-addr", "", "--pprof"}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "--pprof serves on the health address") {
		t.Fatalf("runWorker --pprof without a health address: %v", err)
	}
}
