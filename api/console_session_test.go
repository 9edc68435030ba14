package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/store"
)

// browser is the console in a browser: a cookie jar and the CSRF token it
// was given at sign-in.
type browser struct {
	t    *testing.T
	h    *harness
	http *http.Client
	csrf string
}

func newBrowser(t *testing.T, h *harness) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, h: h, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request; withCSRF adds the token the sign-in returned.
func (b *browser) do(method, path string, body any, withCSRF bool) apitest.Response {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = strings.NewReader(string(raw))
	}
	r, err := http.NewRequest(method, b.h.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if withCSRF {
		r.Header.Set("X-CSRF-Token", b.csrf)
	}
	return b.send(r)
}

func (b *browser) send(r *http.Request) apitest.Response {
	b.t.Helper()
	res, err := b.http.Do(r)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
}

// page opens a link's page in this browser.
func (b *browser) page(link string) apitest.Response {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodGet, link, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(r)
}

// confirm submits a link page's form in this browser, as the page does.
func (b *browser) confirm(link string) apitest.Response {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodPost, link, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", b.h.URL)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.send(r)
}

// want asserts an answer's status and, unless field is "", that one string
// field of its body is value; it returns the answer for the callers that
// read more of it to decode (apitest.Decode). The one field is read
// loosely: want serves answers of every schema.
func (b *browser) want(res apitest.Response, status int, field, value string) apitest.Response {
	b.t.Helper()
	out := map[string]any{}
	_ = json.Unmarshal([]byte(res.Body), &out)
	if res.Status != status || (field != "" && out[field] != value) {
		b.t.Fatalf("answer = %d %s, want %d with %s=%q", res.Status, res.Body, status, field, value)
	}
	return res
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.h.URL + "/v1/admin/session/check")
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// startSignIn starts a console sign-in and returns the attempt it started
// in the background.
func (b *browser) startSignIn(authid string) store.Attempt {
	b.t.Helper()
	before := b.h.latestConsoleAttempt(authid)
	// Strictly decoded: a method (or any field but result and expires_at)
	// fails it.
	out := apitest.Decode[apitest.ConsoleSignInPending](b.t, b.want(b.do(http.MethodPost, "/v1/admin/session", req{"account": deploytest.Account, "authid": authid}, false),
		http.StatusOK, "result", "pending"))
	if out.ExpiresAt == "" {
		b.t.Fatalf("sign-in start = %v, want pending with expires_at and no method", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if att := b.h.latestConsoleAttempt(authid); att.ID != before.ID && att.Method != "" {
			return att
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("no console attempt of %s started within 10s", authid)
	return store.Attempt{}
}

// latestConsoleAttempt is authid's latest console attempt (zero if none).
func (h *harness) latestConsoleAttempt(authid string) store.Attempt {
	h.t.Helper()
	att, err := h.Store.LatestAttempt(context.Background(), deploytest.Account, "console", authid)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.t.Fatal(err)
	}
	return att
}

// enterCode sends a code and returns the check's answer once it is not
// "pending" any more, or "pending" if it stays so: a verdict later than
// the check's floor shows on the next check.
func (b *browser) enterCode(code string) apitest.Response {
	b.t.Helper()
	res := b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": code}, false)
	for i := 0; i < 10 && res.Status == http.StatusAccepted; i++ {
		time.Sleep(100 * time.Millisecond)
		res = b.do(http.MethodPost, "/v1/admin/session/check", nil, false)
	}
	return res
}

// signIn signs authid in with the emailed link, confirmed in this
// browser, and keeps the CSRF token.
func (b *browser) signIn(authid string) {
	b.t.Helper()
	att := b.startSignIn(authid)
	b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{}, false), http.StatusAccepted, "result", "pending")
	if res := b.confirm(b.h.outbox.message(b.t, att.ID).Link); res.Status != http.StatusOK || !strings.Contains(res.Body, "You are signed in to the console") {
		b.t.Fatalf("confirming the link = %d %s", res.Status, res.Body)
	}
	out := apitest.Decode[apitest.ConsoleAuthenticated](b.t, b.want(b.do(http.MethodPost, "/v1/admin/session/check", nil, false), http.StatusOK, "result", "authenticated"))
	if out.Authid != authid || out.Account != deploytest.Account || out.CSRFToken == "" {
		b.t.Fatalf("authenticated answer = %+v", out)
	}
	b.csrf = out.CSRFToken
}

// consoleHarness is a deployment whose console system has administrators
// root, ops and audit (passwordless) and pinner (PIN).
func consoleHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.Setup("console", []string{"passwordless", "pin", "totp"}, "medium", "root", "passwordless")
	for _, u := range []struct{ authid, method string }{{"ops", "passwordless"}, {"audit", "passwordless"}, {"pinner", "pin"}} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": u.authid, "name": "Admin " + u.authid, "email": u.authid + "@example.com"}, http.StatusCreated)
		h.Admin(http.MethodPut, "/v1/admin/users/"+u.authid+"/systems", req{"assignments": []req{{"system": "console", "method": u.method}}}, http.StatusOK)
	}
	return h
}

func TestConsoleSignIn(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)

	t.Run("a link opens the session in the browser that confirms it", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("root")
		signin := b.cookie("flexauth_signin")
		if signin == "" || strings.Contains(signin, att.ID) {
			t.Fatalf("sign-in cookie = %q: want the attempt sealed", signin)
		}
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", nil, false), http.StatusAccepted, "result", "pending")
		res := b.confirm(h.outbox.message(t, att.ID).Link)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "You are signed in to the console") || !strings.Contains(res.Body, `href="/console/"`) {
			t.Fatalf("confirming the link = %d %s", res.Status, res.Body)
		}
		assertPageHeaders(t, res)
		setCookie := strings.Join(res.Header.Values("Set-Cookie"), "\n")
		if !strings.Contains(setCookie, "flexauth_session=") || !strings.Contains(setCookie, "HttpOnly") ||
			!strings.Contains(setCookie, "SameSite=Strict") || !strings.Contains(setCookie, "Path=/") {
			t.Fatalf("session cookie = %s", setCookie)
		}
		// The page that started the sign-in polls and finds the session.
		b.csrf = apitest.Decode[apitest.ConsoleAuthenticated](t, b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{}, false), http.StatusOK, "result", "authenticated")).CSRFToken
		if b.cookie("flexauth_signin") != "" {
			t.Fatal("the finished sign-in kept its cookie")
		}

		me := apitest.Decode[apitest.ConsoleSession](t, b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "root"))
		if me.Account != deploytest.Account || me.Name != "User root" || me.CSRFToken != b.csrf || !me.Fresh {
			t.Fatalf("session = %+v", me)
		}
		b.want(b.do(http.MethodGet, "/v1/admin/systems", nil, false), http.StatusOK, "", "")
		if types := h.AuditTypes("type=console.signed_in&attempt=" + att.ID); len(types) != 1 {
			t.Fatalf("signed_in events for the attempt = %v, want one", types)
		}
		// The link again: used.
		if res := b.confirm(h.outbox.message(t, att.ID).Link); res.Status != http.StatusGone {
			t.Fatalf("confirming the link twice = %d %s", res.Status, res.Body)
		}
	})

	t.Run("an attacker who starts an administrator's sign-in gets nothing when the administrator confirms", func(t *testing.T) {
		attacker, admin := newBrowser(t, h), newBrowser(t, h)
		att := attacker.startSignIn("root")
		link := h.outbox.message(t, att.ID).Link

		// The administrator opens the genuine message and is told what
		// confirming does, then confirms in their own browser.
		page := admin.page(link)
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "Sign in to the flexauth console?") ||
			!strings.Contains(page.Body, "signs you in to the console in this browser") {
			t.Fatalf("link page = %d %s", page.Status, page.Body)
		}
		res := admin.confirm(link)
		confirmed := time.Now()
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "You are signed in to the console") {
			t.Fatalf("confirming the link = %d %s", res.Status, res.Body)
		}
		admin.csrf = apitest.Decode[apitest.ConsoleSession](t, admin.want(admin.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "root")).CSRFToken
		admin.want(admin.do(http.MethodGet, "/v1/admin/systems", nil, false), http.StatusOK, "", "")

		// The attacker's poll hears "pending" while the confirming browser
		// is answered, then that the sign-in was confirmed elsewhere.
		t.Cleanup(func() { h.skew.Store(0) })
		res = attacker.do(http.MethodPost, "/v1/admin/session/check", nil, false)
		switch {
		case res.Status == http.StatusAccepted:
			h.skew.Store(int64(6 * time.Second))
			res = attacker.do(http.MethodPost, "/v1/admin/session/check", nil, false)
		case time.Since(confirmed) < 4*time.Second:
			t.Fatalf("the attacker's check right after the confirmation = %d %s, want 202 pending", res.Status, res.Body)
		}
		if res.Status != http.StatusForbidden || res.Body != `{"reason":"confirmed elsewhere","result":"expired"}` {
			t.Fatalf("the attacker's check after the confirmation = %d %s", res.Status, res.Body)
		}
		attacker.want(attacker.do(http.MethodPost, "/v1/admin/session/check", req{"pin": "12345678"}, false), http.StatusForbidden, "result", "expired")
		if attacker.cookie("flexauth_session") != "" || strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), "flexauth_session=") {
			t.Fatal("the attacker's browser got a session cookie")
		}
		wantError(t, attacker.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusUnauthorized, "not signed in")
		wantError(t, attacker.do(http.MethodGet, "/v1/admin/systems", nil, false), http.StatusUnauthorized, "")

		h.skew.Store(0)
		if types := h.AuditTypes("type=console.signed_in&attempt=" + att.ID); len(types) != 1 {
			t.Fatalf("signed_in events for the attempt = %v, want the administrator's one", types)
		}
	})

	t.Run("a forged sign-in cookie is a security error", func(t *testing.T) {
		b := newBrowser(t, h)
		u, _ := url.Parse(h.URL + "/v1/admin/session")
		b.http.Jar.SetCookies(u, []*http.Cookie{{Name: "flexauth_signin", Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Path: "/v1/admin/session"}})
		res := b.do(http.MethodPost, "/v1/admin/session/check", nil, false)
		if res.Status != http.StatusForbidden || res.Body != `{"result":"security error"}` {
			t.Fatalf("check with a forged cookie = %d %s", res.Status, res.Body)
		}
	})

	t.Run("a PIN sign-in opens the session in the browser that typed the code", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("pinner")
		code := h.outbox.message(t, att.ID).Code
		signin := b.cookie("flexauth_signin")
		b.want(b.enterCode(code), http.StatusOK, "result", "authenticated")
		b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "pinner")

		// The same sign-in cookie again, after success: no second session.
		replay := newBrowser(t, h)
		u, _ := url.Parse(h.URL + "/v1/admin/session")
		replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: "flexauth_signin", Value: signin, Path: "/v1/admin/session"}})
		replay.want(replay.do(http.MethodPost, "/v1/admin/session/check", nil, false), http.StatusForbidden, "result", "expired")
		if replay.cookie("flexauth_session") != "" {
			t.Fatal("a replayed sign-in got a session cookie")
		}
	})

	t.Run("unsafe calls need the CSRF token and actors are audited", func(t *testing.T) {
		b := newBrowser(t, h)
		b.signIn("ops")
		sys := req{"name": "wiki", "methods": []string{"pin"}, "sensitivity": "low", "ttl_seconds": 300}
		wantError(t, b.do(http.MethodPost, "/v1/admin/systems", sys, false), http.StatusForbidden, "csrf token missing or wrong")
		good := b.csrf
		b.csrf = strings.Repeat("0", len(good))
		wantError(t, b.do(http.MethodPost, "/v1/admin/systems", sys, true), http.StatusForbidden, "csrf token missing or wrong")
		b.csrf = good
		b.want(b.do(http.MethodPost, "/v1/admin/systems", sys, true), http.StatusCreated, "name", "wiki")

		ev := auditEvents(h, "system=wiki&type=system.created")[0]
		if d := ev.Detail; d["actor"] != "console:ops" {
			t.Fatalf("console change audited as %v", d)
		}
		h.Admin(http.MethodDelete, "/v1/admin/systems/wiki", nil, http.StatusNoContent)
		ev = auditEvents(h, "system=wiki&type=system.deleted")[0]
		if d := ev.Detail; !strings.HasPrefix(fmt.Sprint(d["actor"]), "key:") || d["by"] != "admin key" {
			t.Fatalf("key change audited as %v", d)
		}
	})

	t.Run("sign-out deletes the session", func(t *testing.T) {
		b := newBrowser(t, h)
		b.signIn("audit")
		stolen := b.cookie("flexauth_session")
		wantError(t, b.do(http.MethodDelete, "/v1/admin/session", nil, false), http.StatusForbidden, "csrf")
		if res := b.do(http.MethodDelete, "/v1/admin/session", nil, true); res.Status != http.StatusNoContent {
			t.Fatalf("sign-out = %d %s", res.Status, res.Body)
		}
		wantError(t, b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusUnauthorized, "not signed in")
		// The old cookie, kept by someone, no longer works.
		u, _ := url.Parse(h.URL + "/")
		b.http.Jar.SetCookies(u, []*http.Cookie{{Name: "flexauth_session", Value: stolen, Path: "/"}})
		wantError(t, b.do(http.MethodGet, "/v1/admin/systems", nil, false), http.StatusUnauthorized, "session expired")
		if types := h.AuditTypes("authid=audit&type=console.signed_out"); len(types) != 1 {
			t.Fatalf("signed_out events = %v", types)
		}
	})

	t.Run("disabling or unassigning an administrator revokes the session", func(t *testing.T) {
		b := newBrowser(t, h)
		b.signIn("ops")
		h.Admin(http.MethodPatch, "/v1/admin/users/ops", req{"status": "disabled"}, http.StatusOK)
		wantError(t, b.do(http.MethodGet, "/v1/admin/systems", nil, false), http.StatusUnauthorized, "session expired")
		h.Admin(http.MethodPatch, "/v1/admin/users/ops", req{"status": "active"}, http.StatusOK)

		b = newBrowser(t, h)
		b.signIn("ops")
		h.Admin(http.MethodPut, "/v1/admin/users/ops/systems", req{"assignments": []req{}}, http.StatusOK)
		wantError(t, b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusUnauthorized, "session expired")
	})

	t.Run("sensitive changes need a fresh sign-in; idle sessions expire", func(t *testing.T) {
		b := newBrowser(t, h)
		b.signIn("root")
		t.Cleanup(func() { h.skew.Store(0) })
		h.skew.Store(int64(11 * time.Minute))
		for _, call := range []struct{ method, path string }{
			{http.MethodPost, "/v1/admin/keys"},
			{http.MethodDelete, "/v1/admin/keys/some-id"},
			{http.MethodDelete, "/v1/admin/users/pinner/totp"},
			{http.MethodPost, "/v1/admin/users/pinner/recovery-codes"},
		} {
			res := b.do(call.method, call.path, req{"name": "ci", "scope": "app"}, true)
			if res.Status != http.StatusForbidden || res.Body != `{"error":"fresh sign-in required","reauth":true}` {
				t.Fatalf("%s %s after 11 minutes = %d %s", call.method, call.path, res.Status, res.Body)
			}
		}
		if me := apitest.Decode[apitest.ConsoleSession](t, b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "root")); me.Fresh {
			t.Fatalf("session after 11 minutes = %+v", me)
		}
		// API keys are not signed in: they are exempt.
		h.Admin(http.MethodPost, "/v1/admin/keys", req{"name": "ci", "scope": "app"}, http.StatusCreated)
		// Still usable for everything else until idle for 30 minutes.
		b.want(b.do(http.MethodGet, "/v1/admin/systems", nil, false), http.StatusOK, "", "")
		h.skew.Store(int64(11*time.Minute + 31*time.Minute))
		wantError(t, b.do(http.MethodGet, "/v1/admin/systems", nil, false), http.StatusUnauthorized, "session expired")
	})

	t.Run("a fresh session may create keys", func(t *testing.T) {
		b := newBrowser(t, h)
		b.signIn("root")
		b.want(b.do(http.MethodPost, "/v1/admin/keys", req{"name": "from console", "scope": "app"}, true), http.StatusCreated, "name", "from console")
	})
}
