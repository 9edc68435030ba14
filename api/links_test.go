package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
)

func TestLinkSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless", "pin"}, "low", "alice", "passwordless")
	body := req{"system": "wiki", "authid": "alice"}

	attempt := h.Start("wiki", "alice")
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	link := h.outbox.message(t, attempt).Link
	if !strings.HasPrefix(link, h.url+"/l/") {
		t.Fatalf("link %q is not under %s/l/", link, h.url)
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
		{"an unknown token is gone", http.MethodGet, h.url + "/l/" + strings.Repeat("A", 43)},
		{"an unknown token cannot be posted", http.MethodPost, h.url + "/l/" + strings.Repeat("A", 43)},
		{"a malformed token is gone", http.MethodGet, h.url + "/l/not-a-token"},
		{"a token with invalid characters is gone", http.MethodPost, h.url + "/l/" + strings.Repeat("%21", 43)},
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
		"Referrer-Policy": "no-referrer",
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
