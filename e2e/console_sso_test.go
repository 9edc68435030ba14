package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/identity/oidc/oidctest"
)

// TestConsoleSingleSignOnOpensTheSessionWhereItCompletes: a console
// administrator who signs on through their organisation's provider gets the
// session in the browser that comes back from the provider; whoever started
// the sign-in (here an attacker who knows the administrator's user ID) gets
// nothing.
func TestConsoleSingleSignOnOpensTheSessionWhereItCompletes(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	prov := oidctest.New(t)
	h := newHarness(t, withSignOn(prov.Config()), withClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }))
	h.Setup("console", []string{"sso", "passwordless"}, "low", "ada", "sso")
	callback := h.URL + attempt.SSOCallbackPath

	// The administrator's browser is the one h.continueURL posts the link
	// page from: the callback is accepted only there.
	attacker := jarClient(t)
	admin := &http.Client{Jar: h.browser.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res := send(t, attacker, http.MethodPost, h.URL+"/v1/admin/session", `{"account":"acme","authid":"ada"}`)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `"result":"pending"`) {
		t.Fatalf("sign-in = %d %s", res.Status, res.Body)
	}
	msg := h.waitMessage("ada@example.com", 1)

	page := send(t, admin, http.MethodGet, msg.Link, "")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "signs you in to the console in this browser") {
		t.Fatalf("link page = %d %s", page.Status, page.Body)
	}
	code, state := oidctest.Browse(t, h.continueURL(msg.Link), callback)
	done := send(t, admin, http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode(), "")
	if done.Status != http.StatusOK || !strings.Contains(done.Body, "You are signed in to the console") ||
		!strings.Contains(strings.Join(done.Header.Values("Set-Cookie"), "\n"), "flexauth_session=") {
		t.Fatalf("callback = %d %v %s", done.Status, done.Header, done.Body)
	}
	if me := send(t, admin, http.MethodGet, h.URL+"/v1/admin/session", ""); me.Status != http.StatusOK || !strings.Contains(me.Body, `"authid":"ada"`) {
		t.Fatalf("the administrator's session = %d %s", me.Status, me.Body)
	}

	skew.Store(int64(6 * time.Second))
	check := send(t, attacker, http.MethodPost, h.URL+"/v1/admin/session/check", "{}")
	if check.Status != http.StatusForbidden || check.Body != `{"reason":"confirmed elsewhere","result":"expired"}` {
		t.Fatalf("the attacker's check = %d %s", check.Status, check.Body)
	}
	if me := send(t, attacker, http.MethodGet, h.URL+"/v1/admin/session", ""); me.Status != http.StatusUnauthorized {
		t.Fatalf("the attacker's session = %d %s, want 401", me.Status, me.Body)
	}
}

func jarClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	Status int
	Header http.Header
	Body   string
}

func send(t *testing.T, c *http.Client, method, target, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
}
