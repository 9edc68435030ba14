package e2e

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/plugins/identity/oidc/oidctest"
	"github.com/flexauth/flexauth/workflows"
)

// TestSingleSignOnThroughALocalProvider signs users on with method sso
// through the real oidc plugin process and a real OpenID Connect provider
// on loopback: the emailed link leads to the provider, the callback
// completes the attempt, the provider identity is bound to the user, and
// replayed states, other identities, bad signatures and wrong audiences are
// refused.
func TestSingleSignOnThroughALocalProvider(t *testing.T) {
	t.Parallel()
	prov := oidctest.New(t)
	h := newHarness(t, withSignOn(prov.Config()))
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "portal", "methods": []string{"sso", "pin"}, "sensitivity": "low"}, http.StatusCreated)
	for authid, email := range map[string]string{"ada": "ada@example.com", "eve": "eve@example.com"} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "email": email}, http.StatusCreated)
		h.Admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", req{"assignments": []req{{"system": "portal", "method": "sso"}}}, http.StatusOK)
	}
	callback := h.url + activities.SSOCallbackPath

	// First sign-on: the link page, then the provider, then the callback.
	h.Expect("/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
	msg := h.waitMessage("ada@example.com", 1)
	if !strings.Contains(msg.Body, "organisation") {
		t.Fatalf("sso message body = %q", msg.Body)
	}
	page := h.Page(http.MethodGet, msg.Link)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "organisation") {
		t.Fatalf("GET link = %d %s", page.Status, page.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusAccepted, "pending")
	authURL := h.continueURL(msg.Link)
	if !strings.HasPrefix(authURL, prov.Issuer()+"/authorize?") {
		t.Fatalf("continue to %s, want the provider", authURL)
	}
	code, state := oidctest.Browse(t, authURL, callback)
	done := h.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode())
	if done.Status != http.StatusOK || !strings.Contains(done.Body, "You are signed in to portal") {
		t.Fatalf("callback = %d %s", done.Status, done.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusOK, "authenticated")
	ada, err := h.st.GetUser(context.Background(), "acme", "ada")
	if err != nil {
		t.Fatal(err)
	}
	if ada.SSOIssuer != prov.Issuer() || ada.SSOSubject != oidctest.Users()["ada@example.com"].Sub {
		t.Fatalf("bound identity = %q %q", ada.SSOIssuer, ada.SSOSubject)
	}
	if u := h.Admin(http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); u["sso_bound"] != true {
		t.Fatalf("ada after the first sign-on = %v, want sso_bound", u)
	}
	if types := h.AuditTypes("authid=ada&type=" + activities.EventSSOBound); len(types) != 1 {
		t.Fatalf("sso.bound events = %v", types)
	}

	// A replayed callback finds nothing, and nothing secret reached history.
	replay := h.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode())
	if replay.Status != http.StatusGone {
		t.Fatalf("replayed state = %d %s", replay.Status, replay.Body)
	}
	for _, s := range []string{code, state} {
		h.assertHistoryHasNo(workflows.WorkflowID("acme", "portal", "ada"), s)
	}
	if bad := h.Page(http.MethodGet, callback+"?state=not-a-state&code=x"); bad.Status != http.StatusBadRequest {
		t.Fatalf("malformed state = %d", bad.Status)
	}

	// Second sign-on: every wrong answer is refused and counted, then the
	// bound identity signs in again through the same link.
	h.Expect("/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
	msg = h.waitMessage("ada@example.com", 2)
	refusals := []struct {
		name   string
		knob   func(p *oidctest.Provider)
		reason string
	}{
		{"another identity", func(p *oidctest.Provider) { p.LoginAs = "alan@example.org" }, "not the one bound"},
		{"bad signature", func(p *oidctest.Provider) { p.LoginAs, p.SignWithOther = "", true }, "signature"},
		{"wrong audience", func(p *oidctest.Provider) { p.SignWithOther, p.Audience = false, "someone-else" }, "audience"},
	}
	for i, r := range refusals {
		prov.Set(r.knob)
		code, state := oidctest.Browse(t, h.continueURL(msg.Link), callback)
		res := h.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode())
		if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "Sign-in refused") {
			t.Fatalf("%s: callback = %d %s", r.name, res.Status, res.Body)
		}
		h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusAccepted, "pending")
		reasons := h.rejections("ada")
		if len(reasons) != i+1 || !strings.Contains(reasons[0], r.reason) {
			t.Fatalf("%s: rejections = %q, want %d, the last about %q", r.name, reasons, i+1, r.reason)
		}
	}
	prov.Set(func(p *oidctest.Provider) { p.Audience = "" })
	code, state = oidctest.Browse(t, h.continueURL(msg.Link), callback)
	if res := h.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode()); res.Status != http.StatusOK {
		t.Fatalf("bound identity again: callback = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusOK, "authenticated")

	// A first sign-on must bring the user's own verified email: eve's
	// attempt answered by ada's provider identity is refused, and the
	// identity bound to ada is not bound to eve.
	h.Expect("/v1/start", req{"system": "portal", "authid": "eve"}, http.StatusOK, "success")
	eveMsg := h.waitMessage("eve@example.com", 1)
	code, state = oidctest.Browse(t, h.continueURL(eveMsg.Link), callback)
	if res := h.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode()); res.Status != http.StatusForbidden {
		t.Fatalf("eve as ada: callback = %d %s", res.Status, res.Body)
	}
	if reasons := h.rejections("eve"); len(reasons) != 1 || !strings.Contains(reasons[0], "email to be the user's") {
		t.Fatalf("eve's rejections = %q", reasons)
	}
	eve, err := h.st.GetUser(context.Background(), "acme", "eve")
	if err != nil || eve.SSOSubject != "" {
		t.Fatalf("eve bound to %q (err %v)", eve.SSOSubject, err)
	}
}

// TestSingleSignOnCancelledAtTheProvider: the provider's error answer uses
// the state up and leaves the attempt pending, so the link can retry.
func TestSingleSignOnCancelledAtTheProvider(t *testing.T) {
	t.Parallel()
	prov := oidctest.New(t)
	h := newHarness(t, withSignOn(prov.Config()))
	h.Setup("portal", []string{"sso"}, "low", "ada", "sso")
	h.Admin(http.MethodPatch, "/v1/admin/users/ada", req{"email": "ada@example.com"}, http.StatusOK)
	callback := h.url + activities.SSOCallbackPath

	h.Expect("/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
	msg := h.waitMessage("ada@example.com", 1)
	_, state := oidctest.Browse(t, h.continueURL(msg.Link), callback)
	cancelled := h.Page(http.MethodGet, callback+"?"+url.Values{"error": {"access_denied"}, "state": {state}}.Encode())
	if cancelled.Status != http.StatusForbidden || !strings.Contains(cancelled.Body, "not completed") {
		t.Fatalf("cancelled = %d %s", cancelled.Status, cancelled.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusAccepted, "pending")
	if again := h.Page(http.MethodGet, callback+"?"+url.Values{"code": {"x"}, "state": {state}}.Encode()); again.Status != http.StatusGone {
		t.Fatalf("state used by the error answer = %d", again.Status)
	}
	code, state := oidctest.Browse(t, h.continueURL(msg.Link), callback)
	if res := h.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode()); res.Status != http.StatusOK {
		t.Fatalf("retry = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusOK, "authenticated")
}

var continueRE = regexp.MustCompile(`id="continue" href="([^"]+)"`)

// continueURL posts an sso link's page, as its button does, and returns
// the provider URL the answer sends the browser to.
func (h *harness) continueURL(link string) string {
	h.t.Helper()
	res := h.Page(http.MethodPost, link)
	m := continueRE.FindStringSubmatch(res.Body)
	if res.Status != http.StatusOK || m == nil {
		h.t.Fatalf("POST sso link = %d %s", res.Status, res.Body)
	}
	return html.UnescapeString(m[1])
}

// rejections are the reasons of authid's code.rejected events, newest
// first; the events are written before the callback page answers, but
// give the store a moment anyway.
func (h *harness) rejections(authid string) []string {
	h.t.Helper()
	var reasons []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := h.Admin(http.MethodGet, "/v1/admin/audit?authid="+authid+"&type="+activities.EventRejected, nil, http.StatusOK)
		events, _ := out["events"].([]any)
		reasons = reasons[:0]
		for _, e := range events {
			rs, _ := e.(map[string]any)["reasons"].([]any)
			if len(rs) > 0 {
				reasons = append(reasons, rs[0].(string))
			}
		}
		if len(reasons) > 0 || time.Now().After(deadline) {
			return reasons
		}
		time.Sleep(50 * time.Millisecond)
	}
}
