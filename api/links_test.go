package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/store"
)

func TestLinkSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless", "pin"}, "low", "alice", "passwordless")
	body := req{"system": "wiki", "authid": "alice"}

	attemptID := h.Start("wiki", "alice")
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	link := h.outbox.message(t, attemptID).Link
	if !strings.HasPrefix(link, h.URL+"/l/") {
		t.Fatalf("link %q is not under %s/l/", link, h.URL)
	}

	t.Run("opening the link only shows a confirmation form", func(t *testing.T) {
		res := h.Page(http.MethodGet, link)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `<form method="post">`) || !strings.Contains(res.Body, "Sign in to wiki?") {
			t.Fatalf("GET link = %d:\n%s", res.Status, res.Body)
		}
		assertPageHeaders(t, res)
		h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	})

	t.Run("a PIN sent with a passwordless attempt is ignored", func(t *testing.T) {
		h.Expect("/v1/check", req{"system": "wiki", "authid": "alice", "pin": "12345678"}, http.StatusAccepted, "pending")
	})

	t.Run("posting the form signs in", func(t *testing.T) {
		res := h.Page(http.MethodPost, link)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "You are signed in to wiki.") {
			t.Fatalf("POST link = %d:\n%s", res.Status, res.Body)
		}
		assertPageHeaders(t, res)
		h.Expect("/v1/check", body, http.StatusOK, "authenticated")
	})

	gone := []struct {
		name   string
		method string
		url    string
	}{
		{"a used link cannot sign in again", http.MethodPost, link},
		{"a used link shows no form", http.MethodGet, link},
		{"an unknown token is gone", http.MethodGet, h.URL + "/l/" + strings.Repeat("A", 43)},
		{"an unknown token cannot be posted", http.MethodPost, h.URL + "/l/" + strings.Repeat("A", 43)},
		{"a malformed token is gone", http.MethodGet, h.URL + "/l/not-a-token"},
		{"a token with invalid characters is gone", http.MethodPost, h.URL + "/l/" + strings.Repeat("%21", 43)},
	}
	for _, tt := range gone {
		t.Run(tt.name, func(t *testing.T) {
			res := h.Page(tt.method, tt.url)
			if res.Status != http.StatusGone || !strings.Contains(res.Body, "This link has expired or was already used") || strings.Contains(res.Body, "<form") {
				t.Fatalf("%s = %d:\n%s", tt.method, res.Status, res.Body)
			}
			assertPageHeaders(t, res)
		})
	}
}

func TestSupersededLinkStopsWorking(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless"}, "low", "erin", "passwordless")
	body := req{"system": "wiki", "authid": "erin"}

	first := h.outbox.message(t, h.Start("wiki", "erin")).Link
	second := h.outbox.message(t, h.Start("wiki", "erin")).Link

	if res := h.Page(http.MethodPost, first); res.Status != http.StatusGone {
		t.Fatalf("POST superseded link = %d, want 410:\n%s", res.Status, res.Body)
	}
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	if res := h.Page(http.MethodPost, second); res.Status != http.StatusOK {
		t.Fatalf("POST current link = %d, want 200:\n%s", res.Status, res.Body)
	}
	h.Expect("/v1/check", body, http.StatusOK, "authenticated")
}

func assertPageHeaders(t *testing.T, res apitest.Response) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":   "no-store",
		"Referrer-Policy": "same-origin",
		"X-Frame-Options": "DENY",
		"Content-Type":    "text/html; charset=utf-8",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'none'", "style-src 'sha256-", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, part)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q allows more than a hashed style", csp)
	}
}

// startAs starts an attempt from a client whose User-Agent is ua and
// returns the attempt's row.
func startAs(t *testing.T, h *harness, system, authid, ua string) store.Attempt {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, h.URL+"/v1/start", strings.NewReader(`{"system":"`+system+`","authid":"`+authid+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("apikey", h.AppKey)
	r.Header.Set("User-Agent", ua)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Attempt string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("start = %d (%v)", res.StatusCode, err)
	}
	att, err := h.Store.GetAttempt(context.Background(), out.Attempt)
	if err != nil {
		t.Fatal(err)
	}
	return att
}

// The link page says who asked for the sign-in and when, so that a person
// can tell their own sign-in from someone else's; the requester chose the
// User-Agent, so the page escapes it.
func TestLinkPageShowsWhoAsked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless"}, "low", "alice", "passwordless")
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "bob", "email": "bob@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/bob/systems", req{"assignments": []req{{"system": "wiki", "method": "passwordless"}}}, http.StatusOK)

	t.Run("IP, browser and time in UTC", func(t *testing.T) {
		att := startAs(t, h, "wiki", "alice", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		res := h.Page(http.MethodGet, h.outbox.message(t, att.ID).Link)
		when := att.StartedAt.UTC().Format("Monday 2 January 2006, 15:04:05 UTC")
		for _, want := range []string{
			`<dd id="request-ip">127.0.0.1</dd>`, `<dd id="request-browser">Firefox on Linux</dd>`,
			`<dd id="request-time">` + when + `</dd>`, "Someone asked to sign in to wiki:", `<form method="post">`,
		} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("link page lacks %s:\n%s", want, res.Body)
			}
		}
		assertPageHeaders(t, res)
	})

	t.Run("a hostile User-Agent is shown escaped", func(t *testing.T) {
		att := startAs(t, h, "wiki", "bob", `<script>alert("owned")</script><img src=x onerror=alert(1)>`)
		res := h.Page(http.MethodGet, h.outbox.message(t, att.ID).Link)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `unrecognised (&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;)`) {
			t.Fatalf("link page = %d:\n%s", res.Status, res.Body)
		}
		if strings.Contains(res.Body, "<script") || strings.Contains(res.Body, "<img") {
			t.Fatalf("the link page holds the requester's markup:\n%s", res.Body)
		}
		// Showing the page did nothing.
		h.Expect("/v1/check", req{"system": "wiki", "authid": "bob"}, http.StatusAccepted, "pending")
	})
}

// A link's form is taken only from the link's own page: another site that
// posts it (login CSRF) is refused and the attempt stays pending.
func TestLinkConfirmationMustComeFromItsPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless"}, "low", "alice", "passwordless")
	body := req{"system": "wiki", "authid": "alice"}
	link := h.outbox.message(t, h.Start("wiki", "alice")).Link

	post := func(headers map[string]string) apitest.Response {
		t.Helper()
		r, err := http.NewRequest(http.MethodPost, link, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
	}
	for _, tt := range []struct {
		name    string
		headers map[string]string
	}{
		{"another site's origin", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		{"another origin claiming same-origin", map[string]string{"Origin": "http://localhost:1", "Sec-Fetch-Site": "same-origin"}},
		{"a cross-site post without Origin", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"a same-site post from another origin", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-site"}},
		{"a post that says nothing of where it came from", nil},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			res := post(tt.headers)
			if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "Confirm on the sign-in page") || strings.Contains(res.Body, "<form") {
				t.Fatalf("POST link = %d:\n%s", res.Status, res.Body)
			}
			assertPageHeaders(t, res)
			h.Expect("/v1/check", body, http.StatusAccepted, "pending")
		})
	}
	t.Run("the page's own form with Origin null is taken", func(t *testing.T) {
		// Browsers send "Origin: null" from a page whose referrer policy is
		// no-referrer (the link page's was, in earlier versions; a page
		// cached then may still post so).
		res := post(map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "You are signed in to wiki.") {
			t.Fatalf("POST link = %d:\n%s", res.Status, res.Body)
		}
		h.Expect("/v1/check", body, http.StatusOK, "authenticated")
	})
}
