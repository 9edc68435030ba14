package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/store"
)

// send makes one request with the given Host (empty: the server's own) and
// headers, and reads the answer.
func send(t *testing.T, h *harness, method, path, host string, header map[string]string, body string) apitest.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		r.Host = host
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
}

// auditMark is the id of the account's newest audit event (0: none).
func auditMark(t *testing.T, h *harness) int64 {
	t.Helper()
	events, err := h.Store.ListAudit(context.Background(), store.AuditFilter{AccountID: deploytest.Account, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		return 0
	}
	return events[0].ID
}

// nothingNew asserts that no audit event was added to the account since
// mark and that no attempt exists for authid on system.
func nothingNew(t *testing.T, h *harness, mark int64, system, authid string) {
	t.Helper()
	if att, err := h.Store.LatestAttempt(context.Background(), deploytest.Account, system, authid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an attempt was recorded for %s: %+v (%v)", authid, att, err)
	}
	if now := auditMark(t, h); now != mark {
		t.Errorf("audit events were added: newest id %d, was %d", now, mark)
	}
}

// hostOf is the host:port of a URL like http://127.0.0.1:1234.
func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

func TestRequestsForAnotherHostAreMisdirected(t *testing.T) {
	t.Parallel()
	var listen string
	h := newHarnessWith(t, harnessOptions{adminOnly: true, configure: func(c *api.Config) {
		listen = hostOf(c.PublicURL)
		c.ListenAddr = listen
		c.AllowedHosts = []string{"flexauth.internal"}
	}})
	h.Setup("wiki", []string{"passwordless"}, "low", "alice", "passwordless")
	_, port, _ := strings.Cut(listen, ":")
	token := strings.Repeat("A", 43)
	mark := auditMark(t, h)

	routes := []struct {
		name, method, path, key, body string
	}{
		{"app start", http.MethodPost, "/v1/start", h.AppKey, `{"system":"wiki","authid":"alice"}`},
		{"app check", http.MethodPost, "/v1/check", h.AppKey, `{"system":"wiki","authid":"alice"}`},
		{"admin API", http.MethodGet, "/v1/admin/systems", h.AdminKey, ""},
		{"console sign-in", http.MethodPost, "/v1/admin/session", "", `{"account":"acme","authid":"alice"}`},
		{"console page", http.MethodGet, "/console/", "", ""},
		{"console asset", http.MethodGet, "/console/assets/app.js", "", ""},
		{"link page", http.MethodGet, "/l/" + token, "", ""},
		{"link confirmation", http.MethodPost, "/l/" + token, "", ""},
		{"welcome page", http.MethodGet, "/w/" + token, "", ""},
		{"welcome form", http.MethodPost, "/w/" + token, "", "password=correct+horse&confirm=correct+horse"},
		{"sign-on callback", http.MethodGet, "/sso/callback?state=" + token + "&code=x", "", ""},
		{"dev outbox", http.MethodGet, "/v1/admin/dev/outbox", "", ""},
		{"openapi", http.MethodGet, "/openapi.json", "", ""},
		{"unknown route", http.MethodGet, "/nothing", "", ""},
	}
	// A rebound name keeps the attacker's name in Host, with or without
	// the port the page was loaded from.
	for _, evil := range []string{"evil.example", "evil.example:" + port, "127.0.0.1.evil.example:" + port} {
		for _, rt := range routes {
			t.Run(rt.name+" for "+evil, func(t *testing.T) {
				res := send(t, h, rt.method, rt.path, evil, map[string]string{"apikey": rt.key}, rt.body)
				if res.Status != http.StatusMisdirectedRequest || !strings.Contains(res.Body, `"error":"misdirected request`) {
					t.Fatalf("%s %s with Host %s = %d %s, want 421 JSON", rt.method, rt.path, evil, res.Status, res.Body)
				}
			})
		}
	}
	nothingNew(t, h, mark, "wiki", "alice")
	nothingNew(t, h, mark, "console", "alice")

	t.Run("the served hosts pass", func(t *testing.T) {
		for _, host := range []string{"", listen, "localhost:" + port, "[::1]:" + port, "LOCALHOST:" + port, "flexauth.internal", "flexauth.internal:8443"} {
			if res := send(t, h, http.MethodGet, "/v1/admin/systems", host, map[string]string{"apikey": h.AdminKey}, ""); res.Status != http.StatusOK {
				t.Errorf("admin API with Host %q = %d %s", host, res.Status, res.Body)
			}
			if res := send(t, h, http.MethodGet, "/console/", host, nil, ""); res.Status != http.StatusOK {
				t.Errorf("console with Host %q = %d", host, res.Status)
			}
			if res := send(t, h, http.MethodGet, "/l/"+token, host, nil, ""); res.Status != http.StatusGone {
				t.Errorf("link page with Host %q = %d", host, res.Status)
			}
			if res := send(t, h, http.MethodPost, "/v1/check", host, map[string]string{"apikey": h.AppKey}, `{"system":"wiki","authid":"alice"}`); res.Status != http.StatusForbidden {
				t.Errorf("check with Host %q = %d %s", host, res.Status, res.Body)
			}
		}
	})

	t.Run("health answers for any host", func(t *testing.T) {
		res := send(t, h, http.MethodGet, "/healthz", "10.0.3.7:8080", nil, "")
		if res.Status != http.StatusOK || res.Body != `{"status":"ok"}` {
			t.Fatalf("healthz with an IP Host = %d %s", res.Status, res.Body)
		}
	})
}

var devTokenMeta = regexp.MustCompile(`<meta name="flexauth-dev-token" content="([A-Za-z0-9_-]{43})">`)

// devToken reads the dev token from the console page, as the browser does.
func devToken(t *testing.T, h *harness) (token string, page apitest.Response) {
	t.Helper()
	page = send(t, h, http.MethodGet, "/console/", "", nil, "")
	if page.Status != http.StatusOK {
		t.Fatalf("console page = %d", page.Status)
	}
	if m := devTokenMeta.FindStringSubmatch(page.Body); m != nil {
		token = m[1]
	}
	return token, page
}

func TestDevOutboxNeedsTheConsolePageToken(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir() + "/outbox.jsonl"
	line := `{"id":"m1","time":"2026-11-23T08:00:00Z","channel":"email","to":"admin@localhost","subject":"Your sign-in link","link":"http://x/l/1","metadata":{"system":"console"}}` + "\n"
	if err := os.WriteFile(outbox, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	dev := newHarnessWith(t, harnessOptions{adminOnly: true, devOutbox: outbox})
	token, page := devToken(t, dev)
	if token == "" {
		t.Fatalf("the dev console page carries no token:\n%s", page.Body)
	}
	if cc := page.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("dev console page Cache-Control = %q, want no-store", cc)
	}
	outboxWith := func(h *harness, token string) apitest.Response {
		header := map[string]string{}
		if token != "" {
			header["X-Flexauth-Dev-Token"] = token
		}
		return send(t, h, http.MethodGet, "/v1/admin/dev/outbox", "", header, "")
	}

	t.Run("without the token: 403", func(t *testing.T) {
		wantError(t, outboxWith(dev, ""), http.StatusForbidden, "token")
	})
	t.Run("with a wrong token: 403", func(t *testing.T) {
		wrong := "B" + token[1:]
		if token[0] == 'B' {
			wrong = "C" + token[1:]
		}
		wantError(t, outboxWith(dev, wrong), http.StatusForbidden, "token")
		wantError(t, outboxWith(dev, token+"x"), http.StatusForbidden, "token")
	})
	t.Run("with the page's token: the messages", func(t *testing.T) {
		res := outboxWith(dev, token)
		if res.Status != http.StatusOK {
			t.Fatalf("outbox = %d %s", res.Status, res.Body)
		}
		if msgs := apitest.Decode[apitest.DevOutbox](t, res).Messages; len(msgs) != 1 || msgs[0].Link != "http://x/l/1" {
			t.Fatalf("outbox = %d %s", res.Status, res.Body)
		}
	})
	t.Run("a client on another machine gets neither the token nor the messages", func(t *testing.T) {
		// dev listening on a public address: a remote client can send any
		// Host, so only the connection's own address can tell.
		remote := func(path string, header map[string]string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, dev.URL+path, nil)
			r.RemoteAddr = "203.0.113.9:40000"
			for k, v := range header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			dev.API.Handler().ServeHTTP(w, r)
			return w
		}
		if w := remote("/console/", nil); w.Code != http.StatusOK || devTokenMeta.MatchString(w.Body.String()) || strings.Contains(w.Body.String(), token) {
			t.Fatalf("console page for a remote client = %d, token in it: %v", w.Code, strings.Contains(w.Body.String(), token))
		}
		w := remote("/v1/admin/dev/outbox", map[string]string{"X-Flexauth-Dev-Token": token})
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "only to this machine") || strings.Contains(w.Body.String(), "http://x/l/1") {
			t.Fatalf("outbox for a remote client = %d %s", w.Code, w.Body.String())
		}
	})
	t.Run("each start draws its own token", func(t *testing.T) {
		again := newHarnessWith(t, harnessOptions{adminOnly: true, devOutbox: outbox})
		other, _ := devToken(t, again)
		if other == "" || other == token {
			t.Fatalf("second server's token %q, first %q", other, token)
		}
		wantError(t, outboxWith(again, token), http.StatusForbidden, "token")
	})
	t.Run("outside dev: no token in the page, no outbox", func(t *testing.T) {
		prod := newHarnessWith(t, harnessOptions{adminOnly: true})
		got, page := devToken(t, prod)
		if got != "" || strings.Contains(page.Body, "flexauth-dev-token") {
			t.Fatalf("the production console page carries a dev token:\n%s", page.Body)
		}
		if cc := page.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("console page Cache-Control = %q, want no-cache", cc)
		}
		wantError(t, outboxWith(prod, token), http.StatusNotFound, "not found")
	})
}

func TestClientIPComesFromTrustedProxiesOnly(t *testing.T) {
	t.Parallel()
	forwarded := map[string]string{"X-Forwarded-For": "203.0.113.7"}

	t.Run("behind a trusted proxy the attempt has the forwarded client's IP", func(t *testing.T) {
		t.Parallel()
		h := newHarnessWith(t, harnessOptions{configure: func(c *api.Config) { c.TrustedProxies = []string{"127.0.0.1"} }})
		h.Setup("wiki", []string{"passwordless"}, "low", "alice", "passwordless")
		res := send(t, h, http.MethodPost, "/v1/start", "", map[string]string{"apikey": h.AppKey, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}, `{"system":"wiki","authid":"alice"}`)
		if res.Status != http.StatusOK {
			t.Fatalf("start = %d %s", res.Status, res.Body)
		}
		wantAttemptIP(t, h, "alice", "203.0.113.7")
	})

	t.Run("from an untrusted peer the header is ignored", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.Setup("wiki", []string{"passwordless"}, "low", "alice", "passwordless")
		res := send(t, h, http.MethodPost, "/v1/start", "", map[string]string{"apikey": h.AppKey, "X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.8"}, `{"system":"wiki","authid":"alice"}`)
		if res.Status != http.StatusOK {
			t.Fatalf("start = %d %s", res.Status, res.Body)
		}
		wantAttemptIP(t, h, "alice", "127.0.0.1")
	})

	t.Run("a configured header is the only one read", func(t *testing.T) {
		t.Parallel()
		h := newHarnessWith(t, harnessOptions{adminOnly: true, configure: func(c *api.Config) {
			c.TrustedProxies = []string{"127.0.0.0/8"}
			c.ClientIPHeader = "X-Real-IP"
		}})
		create := func(name string, header map[string]string) string {
			header["apikey"] = h.AdminKey
			res := send(t, h, http.MethodPost, "/v1/admin/systems", "", header, `{"name":"`+name+`","methods":["pin"],"sensitivity":"low","ttl_seconds":300}`)
			if res.Status != http.StatusCreated {
				t.Fatalf("create system = %d %s", res.Status, res.Body)
			}
			events := auditEvents(h, "system="+name)
			if len(events) == 0 {
				t.Fatalf("no audit event for system %s", name)
			}
			return events[0].IP
		}
		if ip := create("a", map[string]string{"X-Real-IP": "192.0.2.44", "X-Forwarded-For": "192.0.2.45"}); ip != "192.0.2.44" {
			t.Errorf("audited IP = %s, want X-Real-IP's 192.0.2.44", ip)
		}
		if ip := create("b", forwarded); ip != "127.0.0.1" {
			t.Errorf("audited IP = %s, want the peer's (X-Forwarded-For is not the configured header)", ip)
		}
	})
}

// wantAttemptIP waits for the attempt of authid on wiki and checks its IP,
// in the attempt row and in the audit trail.
func wantAttemptIP(t *testing.T, h *harness, authid, ip string) {
	t.Helper()
	att, err := h.Store.LatestAttempt(context.Background(), deploytest.Account, "wiki", authid)
	if err != nil {
		t.Fatal(err)
	}
	if att.IP != ip {
		t.Errorf("attempt IP = %s, want %s", att.IP, ip)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		events := auditEvents(h, "attempt="+att.ID)
		if len(events) > 0 {
			for _, e := range events {
				if e.IP != ip {
					t.Errorf("audit event %s has IP %v, want %s", e.Type, e.IP, ip)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit event for attempt %s", att.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// retryAfter reads a 429's Retry-After in whole seconds.
func retryAfter(t *testing.T, res apitest.Response) int {
	t.Helper()
	n, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After = %q on %d %s", res.Header.Get("Retry-After"), res.Status, res.Body)
	}
	return n
}

func TestPerClientIPLimits(t *testing.T) {
	t.Parallel()
	// Three calls an hour: the test never waits for a refill.
	tight := api.IPLimit{PerSecond: 3.0 / 3600, Burst: 3}
	h := newHarnessWith(t, harnessOptions{adminOnly: true, configure: func(c *api.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.AppIPLimit, c.BrowserIPLimit, c.SignInIPLimit = tight, tight, tight
	}})
	h.Setup("wiki", []string{"passwordless"}, "low", "alice", "passwordless")
	h.Setup("console", []string{"passwordless"}, "medium", "root", "passwordless")
	from := func(ip string, header map[string]string) map[string]string {
		out := map[string]string{"X-Forwarded-For": ip}
		for k, v := range header {
			out[k] = v
		}
		return out
	}
	wantJSON429 := func(t *testing.T, res apitest.Response) {
		t.Helper()
		if res.Status != http.StatusTooManyRequests || res.Body != `{"error":"too many requests"}` ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("over the limit = %d %s", res.Status, res.Body)
		}
		if n := retryAfter(t, res); n < 1000 || n > 1200 {
			t.Fatalf("Retry-After = %d s, want the ~1200 s a token takes", n)
		}
	}
	wantPage429 := func(t *testing.T, res apitest.Response) {
		t.Helper()
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "Too many requests") ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("over the limit = %d %s", res.Status, res.Body)
		}
		assertPageHeaders(t, res)
		retryAfter(t, res)
	}
	token := strings.Repeat("A", 43)

	t.Run("app routes: start and check share a bucket; a refused start creates nothing", func(t *testing.T) {
		mark := auditMark(t, h)
		ip := from("198.51.100.1", map[string]string{"apikey": "fa_app_wrong"})
		for range 3 { // a client guessing keys
			if res := send(t, h, http.MethodPost, "/v1/check", "", ip, `{"system":"wiki","authid":"alice"}`); res.Status != http.StatusForbidden {
				t.Fatalf("check with a wrong key = %d %s", res.Status, res.Body)
			}
		}
		wantJSON429(t, send(t, h, http.MethodPost, "/v1/start", "", from("198.51.100.1", map[string]string{"apikey": h.AppKey}), `{"system":"wiki","authid":"alice"}`))
		wantJSON429(t, send(t, h, http.MethodPost, "/v1/check", "", ip, `{"system":"wiki","authid":"alice"}`))
		nothingNew(t, h, mark, "wiki", "alice")
		if res := send(t, h, http.MethodPost, "/v1/check", "", from("198.51.100.2", map[string]string{"apikey": "fa_app_wrong"}), `{"system":"wiki","authid":"alice"}`); res.Status != http.StatusForbidden {
			t.Fatalf("another IP's check = %d %s", res.Status, res.Body)
		}
	})

	t.Run("console sign-in start: a refused sign-in creates nothing", func(t *testing.T) {
		mark := auditMark(t, h)
		ip := from("198.51.100.3", nil)
		for range 3 { // sign-ins for an account that does not exist (answered like any other)
			if res := send(t, h, http.MethodPost, "/v1/admin/session", "", ip, `{"account":"nope","authid":"root"}`); res.Status != http.StatusOK {
				t.Fatalf("sign-in = %d %s", res.Status, res.Body)
			}
		}
		wantJSON429(t, send(t, h, http.MethodPost, "/v1/admin/session", "", ip, `{"account":"acme","authid":"root"}`))
		nothingNew(t, h, mark, "console", "root")
		if res := send(t, h, http.MethodPost, "/v1/admin/session", "", from("198.51.100.4", nil), `{"account":"nope","authid":"root"}`); res.Status != http.StatusOK {
			t.Fatalf("another IP's sign-in = %d %s", res.Status, res.Body)
		}
	})

	t.Run("browser routes: link pages, the sign-on callback and sign-in checks share a bucket", func(t *testing.T) {
		ip := from("198.51.100.5", nil)
		if res := send(t, h, http.MethodGet, "/l/"+token, "", ip, ""); res.Status != http.StatusGone {
			t.Fatalf("link page = %d", res.Status)
		}
		if res := send(t, h, http.MethodPost, "/l/"+token, "", from("198.51.100.5", map[string]string{"Origin": h.URL}), ""); res.Status != http.StatusGone {
			t.Fatalf("link confirmation = %d", res.Status)
		}
		if res := send(t, h, http.MethodGet, "/sso/callback?state="+token+"&code=x", "", ip, ""); res.Status != http.StatusGone {
			t.Fatalf("sign-on callback = %d", res.Status)
		}
		wantPage429(t, send(t, h, http.MethodGet, "/l/"+token, "", ip, ""))
		wantPage429(t, send(t, h, http.MethodPost, "/l/"+token, "", ip, ""))
		wantPage429(t, send(t, h, http.MethodGet, "/sso/callback?state="+token+"&code=x", "", ip, ""))
		wantJSON429(t, send(t, h, http.MethodPost, "/v1/admin/session/check", "", ip, `{}`))
		if res := send(t, h, http.MethodGet, "/l/"+token, "", from("198.51.100.6", nil), ""); res.Status != http.StatusGone {
			t.Fatalf("another IP's link page = %d", res.Status)
		}
	})

	t.Run("the welcome page is a browser route: limited per IP before any lookup", func(t *testing.T) {
		ip := from("198.51.100.7", nil)
		for range 2 {
			if res := send(t, h, http.MethodGet, "/w/"+token, "", ip, ""); res.Status != http.StatusGone {
				t.Fatalf("welcome page = %d", res.Status)
			}
		}
		if res := send(t, h, http.MethodPost, "/w/"+token, "", from("198.51.100.7", map[string]string{"Origin": h.URL}), ""); res.Status != http.StatusGone {
			t.Fatalf("welcome form = %d", res.Status)
		}
		wantPage429(t, send(t, h, http.MethodGet, "/w/"+token, "", ip, ""))
		wantPage429(t, send(t, h, http.MethodPost, "/w/"+token, "", from("198.51.100.7", map[string]string{"Origin": h.URL}), ""))
		if res := send(t, h, http.MethodGet, "/w/"+token, "", from("198.51.100.8", nil), ""); res.Status != http.StatusGone {
			t.Fatalf("another IP's welcome page = %d", res.Status)
		}
	})

	t.Run("an IPv6 client is counted by its /64", func(t *testing.T) {
		for i := range 3 {
			ip := from("2001:db8:1:2::"+strconv.Itoa(i+1), nil)
			if res := send(t, h, http.MethodGet, "/l/"+token, "", ip, ""); res.Status != http.StatusGone {
				t.Fatalf("link page = %d", res.Status)
			}
		}
		wantPage429(t, send(t, h, http.MethodGet, "/l/"+token, "", from("2001:db8:1:2::99", nil), ""))
		if res := send(t, h, http.MethodGet, "/l/"+token, "", from("2001:db8:1:3::1", nil), ""); res.Status != http.StatusGone {
			t.Fatalf("another /64 = %d", res.Status)
		}
	})

	t.Run("authenticated routes are not limited", func(t *testing.T) {
		for range 5 {
			if res := send(t, h, http.MethodGet, "/v1/admin/systems", "", from("198.51.100.1", map[string]string{"apikey": h.AdminKey}), ""); res.Status != http.StatusOK {
				t.Fatalf("admin API = %d %s", res.Status, res.Body)
			}
		}
	})
}

func TestDefaultLimitsLetAConsoleSignInThrough(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{configure: func(c *api.Config) {
		c.AppIPLimit, c.BrowserIPLimit, c.SignInIPLimit = api.IPLimit{}, api.IPLimit{}, api.IPLimit{}
	}})
	h.Setup("console", []string{"passwordless"}, "medium", "root", "passwordless")
	b := newBrowser(t, h)
	// Two sign-ins, each polled several times as the console page does.
	for range 2 {
		att := b.startSignIn("root")
		for range 5 {
			b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{}, false), http.StatusAccepted, "result", "pending")
		}
		if res := b.page(h.outbox.message(t, att.ID).Link); res.Status != http.StatusOK {
			t.Fatalf("link page = %d", res.Status)
		}
		if res := b.confirm(h.outbox.message(t, att.ID).Link); res.Status != http.StatusOK {
			t.Fatalf("confirming = %d %s", res.Status, res.Body)
		}
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", nil, false), http.StatusOK, "result", "authenticated")
	}
}
