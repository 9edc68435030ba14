package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
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
	r, err := http.NewRequest(method, b.h.url+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if withCSRF {
		r.Header.Set("X-CSRF-Token", b.csrf)
	}
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

func (b *browser) want(res apitest.Response, status int, field, value string) map[string]any {
	b.t.Helper()
	out := map[string]any{}
	_ = json.Unmarshal([]byte(res.Body), &out)
	if res.Status != status || (field != "" && out[field] != value) {
		b.t.Fatalf("answer = %d %s, want %d with %s=%q", res.Status, res.Body, status, field, value)
	}
	return out
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.h.url + "/v1/admin/session/check")
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// startSignIn starts a console sign-in and returns the attempt's row.
func (b *browser) startSignIn(authid, wantMethod string) store.Attempt {
	b.t.Helper()
	out := b.want(b.do(http.MethodPost, "/v1/admin/session", req{"account": b.h.account, "authid": authid}, false),
		http.StatusOK, "result", "pending")
	if out["method"] != wantMethod || out["expires_at"] == "" {
		b.t.Fatalf("sign-in start = %v, want method %s", out, wantMethod)
	}
	att, err := b.h.st.LatestAttempt(context.Background(), b.h.account, "console", authid)
	if err != nil {
		b.t.Fatal(err)
	}
	return att
}

// signIn signs authid in with the emailed link and keeps the CSRF token.
func (b *browser) signIn(authid string) {
	b.t.Helper()
	att := b.startSignIn(authid, "passwordless")
	b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{}, false), http.StatusAccepted, "result", "pending")
	if res := b.h.Page(http.MethodPost, b.h.outbox.message(b.t, att.ID).Link); res.Status != http.StatusOK {
		b.t.Fatalf("confirming the link = %d %s", res.Status, res.Body)
	}
	out := b.want(b.do(http.MethodPost, "/v1/admin/session/check", nil, false), http.StatusOK, "result", "authenticated")
	if out["authid"] != authid || out["account"] != b.h.account || out["csrf_token"] == "" {
		b.t.Fatalf("authenticated answer = %v", out)
	}
	b.csrf = out["csrf_token"].(string)
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

	t.Run("a passwordless sign-in opens a session", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("root", "passwordless")
		signin := b.cookie("flexauth_signin")
		if signin == "" || strings.Contains(signin, att.ID) {
			t.Fatalf("sign-in cookie = %q: want the attempt sealed", signin)
		}
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", nil, false), http.StatusAccepted, "result", "pending")
		if res := h.Page(http.MethodPost, h.outbox.message(t, att.ID).Link); res.Status != http.StatusOK {
			t.Fatalf("confirming the link = %d", res.Status)
		}
		res := b.do(http.MethodPost, "/v1/admin/session/check", req{}, false)
		out := b.want(res, http.StatusOK, "result", "authenticated")
		b.csrf, _ = out["csrf_token"].(string)
		setCookie := strings.Join(res.Header.Values("Set-Cookie"), "\n")
		if !strings.Contains(setCookie, "flexauth_session=") || !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "SameSite=Strict") {
			t.Fatalf("session cookie = %s", setCookie)
		}

		me := b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "root")
		if me["account"] != h.account || me["name"] != "User root" || me["csrf_token"] != b.csrf || me["fresh"] != true {
			t.Fatalf("session = %v", me)
		}
		b.want(b.do(http.MethodGet, "/v1/admin/systems", nil, false), http.StatusOK, "", "")

		// The same sign-in cookie again, after success: no second session.
		replay := newBrowser(t, h)
		u, _ := url.Parse(h.url + "/v1/admin/session")
		replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: "flexauth_signin", Value: signin, Path: "/v1/admin/session"}})
		replay.want(replay.do(http.MethodPost, "/v1/admin/session/check", nil, false), http.StatusForbidden, "result", "expired")
		if replay.cookie("flexauth_session") != "" {
			t.Fatal("a replayed sign-in got a session cookie")
		}
		if types := h.AuditTypes("type=console.signed_in&attempt=" + att.ID); len(types) != 1 {
			t.Fatalf("signed_in events for the attempt = %v, want one", types)
		}
	})

	t.Run("a forged sign-in cookie is a security error", func(t *testing.T) {
		b := newBrowser(t, h)
		u, _ := url.Parse(h.url + "/v1/admin/session")
		b.http.Jar.SetCookies(u, []*http.Cookie{{Name: "flexauth_signin", Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Path: "/v1/admin/session"}})
		res := b.do(http.MethodPost, "/v1/admin/session/check", nil, false)
		if res.Status != http.StatusForbidden || res.Body != `{"result":"security error"}` {
			t.Fatalf("check with a forged cookie = %d %s", res.Status, res.Body)
		}
	})

	t.Run("a PIN sign-in", func(t *testing.T) {
		b := newBrowser(t, h)
		att := b.startSignIn("pinner", "pin")
		code := h.outbox.message(t, att.ID).Code
		b.want(b.do(http.MethodPost, "/v1/admin/session/check", req{"pin": code}, false), http.StatusOK, "result", "authenticated")
		b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "pinner")
	})

	t.Run("users who may not sign in get the same security error as unknown ones", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "outsider", "email": "o@example.com"}, http.StatusCreated)
		b := newBrowser(t, h)
		for _, body := range []req{
			{"account": h.account, "authid": "outsider"},
			{"account": h.account, "authid": "nobody"},
			{"account": "no-such-account", "authid": "root"},
		} {
			res := b.do(http.MethodPost, "/v1/admin/session", body, false)
			if res.Status != http.StatusForbidden || res.Body != `{"result":"security error"}` {
				t.Fatalf("sign-in %v = %d %s", body, res.Status, res.Body)
			}
			if b.cookie("flexauth_signin") != "" {
				t.Fatalf("sign-in %v set a sign-in cookie", body)
			}
		}
		wantError(t, b.do(http.MethodPost, "/v1/admin/session", req{"authid": "root"}, false), http.StatusBadRequest, "account is required")
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

		out := h.Admin(http.MethodGet, "/v1/admin/audit?system=wiki&type=system.created", nil, http.StatusOK)
		ev := out["events"].([]any)[0].(map[string]any)
		if d := ev["detail"].(map[string]any); d["actor"] != "console:ops" {
			t.Fatalf("console change audited as %v", d)
		}
		h.Admin(http.MethodDelete, "/v1/admin/systems/wiki", nil, http.StatusNoContent)
		out = h.Admin(http.MethodGet, "/v1/admin/audit?system=wiki&type=system.deleted", nil, http.StatusOK)
		ev = out["events"].([]any)[0].(map[string]any)
		if d := ev["detail"].(map[string]any); !strings.HasPrefix(d["actor"].(string), "key:") || d["by"] != "admin key" {
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
		u, _ := url.Parse(h.url + "/")
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
		if me := b.want(b.do(http.MethodGet, "/v1/admin/session", nil, false), http.StatusOK, "authid", "root"); me["fresh"] != false {
			t.Fatalf("session after 11 minutes = %v", me)
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
