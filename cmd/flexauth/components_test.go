package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/api"
)

func TestEdgeFlags(t *testing.T) {
	parse := func(t *testing.T, args ...string) (api.Config, error) {
		t.Helper()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		var e edgeFlags
		e.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		cfg := api.Config{PublicURL: "https://auth.example.com", ListenAddr: "0.0.0.0:8080"}
		return cfg, e.apply(&cfg)
	}

	t.Run("defaults", func(t *testing.T) {
		cfg, err := parse(t)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TrustedProxies != nil || cfg.AllowedHosts != nil || cfg.ClientIPHeader != "X-Forwarded-For" {
			t.Errorf("defaults = proxies %v, hosts %v, header %q", cfg.TrustedProxies, cfg.AllowedHosts, cfg.ClientIPHeader)
		}
		if cfg.AppIPLimit != (api.IPLimit{PerSecond: 100, Burst: 200}) || cfg.BrowserIPLimit != (api.IPLimit{PerSecond: 1, Burst: 20}) ||
			cfg.SignInIPLimit != (api.IPLimit{PerSecond: 10.0 / 60, Burst: 5}) {
			t.Errorf("default limits = %v %v %v", cfg.AppIPLimit, cfg.BrowserIPLimit, cfg.SignInIPLimit)
		}
	})

	t.Run("values", func(t *testing.T) {
		cfg, err := parse(t, "--trusted-proxies", " 10.0.0.0/8, 192.0.2.7 ,", "--allowed-hosts", "flexauth.internal,api:8080",
			"--client-ip-header", "X-Real-IP", "--app-ip-limit", "-1", "--browser-ip-limit", "5/s,50", "--signin-ip-limit", "30/h,3")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(cfg.TrustedProxies, " ") != "10.0.0.0/8 192.0.2.7" || strings.Join(cfg.AllowedHosts, " ") != "flexauth.internal api:8080" ||
			cfg.ClientIPHeader != "X-Real-IP" || !cfg.AppIPLimit.Off() || cfg.BrowserIPLimit != (api.IPLimit{PerSecond: 5, Burst: 50}) ||
			cfg.SignInIPLimit != (api.IPLimit{PerSecond: 30.0 / 3600, Burst: 3}) {
			t.Errorf("config = %+v", cfg)
		}
	})

	t.Run("environment", func(t *testing.T) {
		t.Setenv("FLEXAUTH_TRUSTED_PROXIES", "172.16.0.0/12")
		t.Setenv("FLEXAUTH_ALLOWED_HOSTS", "flexauth.internal")
		cfg, err := parse(t)
		if err != nil || strings.Join(cfg.TrustedProxies, ",") != "172.16.0.0/12" || strings.Join(cfg.AllowedHosts, ",") != "flexauth.internal" {
			t.Errorf("config from the environment = %+v, %v", cfg, err)
		}
	})

	for _, bad := range []struct {
		name string
		args []string
		want string
	}{
		{"a trusted proxy that is a name", []string{"--trusted-proxies", "10.0.0.1,lb.internal"}, `trusted proxy "lb.internal"`},
		{"an allowed host that is a URL", []string{"--allowed-hosts", "https://auth.example.com"}, "allowed host"},
		{"a limit without unit", []string{"--browser-ip-limit", "5"}, "--browser-ip-limit"},
		{"a header with a space", []string{"--client-ip-header", "X Real IP"}, "client IP header"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, err := parse(t, bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("apply = %v, want an error about %s", err, bad.want)
			}
		})
	}
}

// An invalid --trusted-proxies stops `api` and `dev` before they start
// anything: trusting nobody in silence would hide every client behind the
// balancer's address.
func TestInvalidTrustedProxiesStopTheStart(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("FLEXAUTH_MASTER_KEY", "")
	err := runAPI(context.Background(), []string{"--trusted-proxies", "10.0.0.0/33"}, logger)
	if err == nil || !strings.Contains(err.Error(), `trusted proxy "10.0.0.0/33"`) {
		t.Errorf("flexauth api = %v", err)
	}
	data := t.TempDir() + "/data"
	err = runDev(context.Background(), []string{"--data", data, "--addr", "127.0.0.1:0", "--trusted-proxies", "proxy"}, io.Discard, logger)
	if err == nil || !strings.Contains(err.Error(), `trusted proxy "proxy"`) {
		t.Errorf("flexauth dev = %v", err)
	}
}

var devTokenMeta = regexp.MustCompile(`<meta name="flexauth-dev-token" content="([A-Za-z0-9_-]+)">`)

// consoleDevToken reads the dev outbox token from the console page.
func consoleDevToken(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	m := devTokenMeta.FindSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("console page = %d without a dev token:\n%s", res.StatusCode, page)
	}
	return string(m[1])
}

// devOutbox asks for the dev outbox with token and Host (empty: the URL's)
// and returns the status.
func devOutbox(t *testing.T, url, host, token string) int {
	t.Helper()
	status, _ := send(t, http.MethodGet, url+"/v1/admin/dev/outbox", host, map[string]string{"X-Flexauth-Dev-Token": token}, "")
	return status
}

// send makes a request with Host (empty: the URL's) and headers.
func send(t *testing.T, method, url, host string, header map[string]string, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// TestDevBehindATrustedProxy runs the binary as an operator would behind a
// proxy: the attempt records the client's address the proxy forwarded, and
// the name the proxy uses is served.
func TestDevBehindATrustedProxy(t *testing.T) {
	bin := flexauthBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	url := "http://" + addr
	startDev(t, bin, addr, data, "--trusted-proxies", "127.0.0.1", "--allowed-hosts", "flexauth.test")
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

	status, body := send(t, http.MethodPost, url+"/v1/start", "flexauth.test",
		map[string]string{"apikey": keys.AppKey, "X-Forwarded-For": "203.0.113.9"}, `{"system":"wiki","authid":"alice"}`)
	if status != http.StatusOK {
		t.Fatalf("start through the proxy = %d %s", status, body)
	}
	status, body = send(t, http.MethodGet, url+"/v1/admin/users/alice/attempts", "", map[string]string{"apikey": keys.AdminKey}, "")
	var out struct {
		Attempts []struct{ IP string } `json:"attempts"`
	}
	if err := json.Unmarshal(body, &out); status != http.StatusOK || err != nil || len(out.Attempts) != 1 {
		t.Fatalf("alice's attempts = %d %s", status, body)
	}
	if out.Attempts[0].IP != "203.0.113.9" {
		t.Fatalf("attempt IP = %s, want the forwarded 203.0.113.9", out.Attempts[0].IP)
	}
	if status, _ := send(t, http.MethodGet, url+"/v1/admin/systems", "elsewhere.test", map[string]string{"apikey": keys.AdminKey}, ""); status != http.StatusMisdirectedRequest {
		t.Fatalf("a name not allowed = %d, want 421", status)
	}
}
