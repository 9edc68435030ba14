package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flexauth/flexauth/embedtemporal"
	"github.com/flexauth/flexauth/secret"
)

// TestDevServesMetrics: after a real passwordless sign-in through `flexauth
// dev` (API, worker and Temporal client in one process, one registry), its
// /metrics has the policy decision, the plugin call, the attempt's end and
// the Temporal SDK's own metrics, and no label names the user, their
// address or the client's IP.
func TestDevServesMetrics(t *testing.T) {
	bin := flexauthBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	url := "http://" + addr
	dev, out := startDev(t, bin, addr, data)
	// Stopped as an operator would, so that it stops its plugins too
	// (startDev's kill would leave them running).
	defer func() {
		_ = dev.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- dev.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("flexauth dev did not stop within 30s of SIGTERM")
		}
	}()
	var keys devKeys
	raw, err := os.ReadFile(filepath.Join(data, "dev-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}

	call(t, url, "POST", "/v1/admin/systems", keys.AdminKey, `{"name":"wiki","methods":["passwordless"],"sensitivity":"low","ttl_seconds":600}`, 201)
	call(t, url, "POST", "/v1/admin/users", keys.AdminKey, `{"authid":"alice","name":"Alice","email":"alice@example.com"}`, 201)
	call(t, url, "PUT", "/v1/admin/users/alice/systems", keys.AdminKey, `{"assignments":[{"system":"wiki","method":"passwordless"}]}`, 200)
	call(t, url, "POST", "/v1/start", keys.AppKey, `{"system":"wiki","authid":"alice"}`, 200)
	link := waitLink(t, filepath.Join(data, "outbox.jsonl"))
	req, err := http.NewRequest(http.MethodPost, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", url)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("confirming the link = %d:\n%s", res.StatusCode, tail(out.String(), 40))
	}
	call(t, url, "POST", "/v1/check", keys.AppKey, `{"system":"wiki","authid":"alice"}`, 200)

	want := []string{
		`flexauth_policy_decisions_total{outcome="passwordless"} 1`,
		`flexauth_policy_decision_duration_seconds_count 1`,
		`flexauth_plugin_calls_total{call="send",channel="email",outcome="ok",plugin="outbox"} 1`,
		`flexauth_plugin_call_duration_seconds_count{call="send",channel="email",plugin="outbox"} 1`,
		`flexauth_attempts_ended_total{state="authenticated"} 1`,
		`flexauth_app_results_total{result="authenticated",route="/v1/check"} 1`,
		// The Temporal SDK's: the client's requests, the worker's
		// workflow tasks and local activities (the sign-in's Begin and
		// delivery).
		`temporal_request_total{`,
		`temporal_workflow_task_execution_latency_seconds_bucket{`,
		`temporal_local_activity_execution_latency_seconds_bucket{`,
	}
	// The SDK records a task's latency once its result is sent back,
	// which may be just after the check saw the attempt end.
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		body = getMetrics(t, url)
		if missing(body, want) == nil || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing(body, want) {
		t.Errorf("metrics lack %s", m)
	}
	noUserInLabels(t, body, "alice", "example.com", "127.0.0.1")
}

func getMetrics(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("metrics = %d (%v)", res.StatusCode, err)
	}
	return string(raw)
}

// missing are the wanted strings body lacks.
func missing(body string, want []string) []string {
	var lack []string
	for _, w := range want {
		if !strings.Contains(body, w) {
			lack = append(lack, w)
		}
	}
	return lack
}

// noUserInLabels fails if a label value of a series in body (Prometheus
// text format) contains one of leaks.
func noUserInLabels(t *testing.T, body string, leaks ...string) {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		open, close := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
		if open < 0 || close < open {
			continue
		}
		for _, leak := range leaks {
			if strings.Contains(line[open:close], leak) {
				t.Errorf("a label names %q: %s", leak, line)
			}
		}
	}
}

// TestAPIAndWorkerServeTemporalMetrics: `flexauth api` and `flexauth
// worker`, each with its own registry, serve the Temporal SDK's metrics
// next to their own after a start: the API its client's requests (the
// start's update-with-start), the worker its workflow and local activity
// tasks and the policy's decision.
func TestAPIAndWorkerServeTemporalMetrics(t *testing.T) {
	ts, err := embedtemporal.Start(t.Context(), embedtemporal.Config{DatabasePath: filepath.Join(t.TempDir(), "temporal.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Stop() })
	t.Setenv("FLEXAUTH_MASTER_KEY", base64.StdEncoding.EncodeToString(make([]byte, secret.MasterKeySize)))
	db := filepath.Join(t.TempDir(), "flexauth.db")
	var created bytes.Buffer
	if err := runAccount(t.Context(), []string{"create", "--id", "acme", "--database", db}, &created); err != nil {
		t.Fatal(err)
	}
	adminKey := regexp.MustCompile(`admin key  (\S+)`).FindStringSubmatch(created.String())
	if adminKey == nil {
		t.Fatalf("account create said:\n%s", created.String())
	}

	workerAddr, apiAddr := freeAddr(t), freeAddr(t)
	runCommand(t, "worker", runWorker, "--database", db, "--temporal", ts.HostPort(), "--health-addr", workerAddr)
	waitOK(t, "http://"+workerAddr+"/readyz")
	runCommand(t, "api", runAPI, "--database", db, "--temporal", ts.HostPort(), "--addr", apiAddr, "--public-url", "http://"+apiAddr)
	api := "http://" + apiAddr
	waitOK(t, api+"/healthz")

	var appKey struct{ Key string }
	post(t, api+"/v1/admin/keys", adminKey[1], `{"name":"app","scope":"app"}`, http.StatusCreated, &appKey)
	post(t, api+"/v1/admin/systems", adminKey[1], `{"name":"wiki","methods":["pin"],"sensitivity":"low","ttl_seconds":600}`, http.StatusCreated, nil)
	post(t, api+"/v1/admin/users", adminKey[1], `{"authid":"alice","name":"Alice","email":"alice@example.com"}`, http.StatusCreated, nil)
	call(t, api, "PUT", "/v1/admin/users/alice/systems", adminKey[1], `{"assignments":[{"system":"wiki","method":"pin"}]}`, http.StatusOK)
	post(t, api+"/v1/start", appKey.Key, `{"system":"wiki","authid":"alice"}`, http.StatusOK, nil)

	for _, c := range []struct {
		base string
		want []string
	}{
		{api, []string{
			`flexauth_attempts_started_total{method="pin"} 1`,
			`temporal_request_total{`,
			`operation="ExecuteMultiOperation"`,
		}},
		{"http://" + workerAddr, []string{
			`flexauth_policy_decisions_total{outcome="pin"} 1`,
			`temporal_workflow_task_execution_latency_seconds_bucket{`,
			`temporal_local_activity_execution_latency_seconds_bucket{activity_type="Begin"`,
		}},
	} {
		var body string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			body = getMetrics(t, c.base)
			if missing(body, c.want) == nil || time.Now().After(deadline) {
				break
			}
		}
		for _, m := range missing(body, c.want) {
			t.Errorf("%s/metrics lacks %s", c.base, m)
		}
		noUserInLabels(t, body, "alice", "example.com", "127.0.0.1")
	}
}

// runCommand runs a command of this binary until the test ends.
func runCommand(t *testing.T, name string, cmd func(context.Context, []string, *slog.Logger) error, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd(ctx, args, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30s", name)
		}
	})
}

// waitOK waits until url answers 200.
func waitOK(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not answer 200 within a minute", url)
}

// post sends body with key and decodes the answer into out (nil: none).
func post(t *testing.T, url, key, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("apikey", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("POST %s = %d %s, want %d", url, res.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
	}
}
