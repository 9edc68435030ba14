package e2e

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/plugins/identity/oidc/oidctest"
	"github.com/flexauth/flexauth/store"
)

// TestSingleSignOnThroughALocalProvider signs users on with method sso
// through the real oidc plugin process and a real OpenID Connect provider
// on loopback: the emailed link leads to the provider, the callback
// completes the attempt, the provider identity is bound to the user, and
// replayed states, bad signatures and wrong audiences are refused and
// counted; another identity, and a first sign-on without an email the
// provider vouches for, are refused without counting a failure.
func TestSingleSignOnThroughALocalProvider(t *testing.T) {
	t.Parallel()
	prov := oidctest.New(t)
	h := newHarness(t, withSignOn(prov.Config()))
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "portal", "methods": []string{"sso", "pin"}, "sensitivity": "low"}, http.StatusCreated)
	for authid, email := range map[string]string{"ada": "ada@example.com", "eve": "eve@example.com", "alan": "alan@example.org"} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "email": email}, http.StatusCreated)
		h.Admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", req{"assignments": []req{{"system": "portal", "method": "sso"}}}, http.StatusOK)
	}
	callback := h.URL + attempt.SSOCallbackPath

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
	done := h.browser.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode())
	if done.Status != http.StatusOK || !strings.Contains(done.Body, "You are signed in to portal") {
		t.Fatalf("callback = %d %s", done.Status, done.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusOK, "authenticated")
	h.saveHistory(h.workflowID("portal", "ada"), "sso_signed_in")
	ada, err := h.Store.GetUser(context.Background(), "acme", "ada")
	if err != nil {
		t.Fatal(err)
	}
	if ada.SSOIssuer != prov.Issuer() || ada.SSOSubject != oidctest.Users()["ada@example.com"].Sub {
		t.Fatalf("bound identity = %q %q", ada.SSOIssuer, ada.SSOSubject)
	}
	if u := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); !u.SSOBound {
		t.Fatalf("ada after the first sign-on = %v, want sso_bound", u)
	}
	if types := h.AuditTypes("authid=ada&type=" + attempt.EventSSOBound); len(types) != 1 {
		t.Fatalf("sso.bound events = %v", types)
	}

	// A replayed callback finds nothing, and nothing secret reached history.
	replay := h.browser.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode())
	if replay.Status != http.StatusGone {
		t.Fatalf("replayed state = %d %s", replay.Status, replay.Body)
	}
	for _, s := range []string{code, state} {
		h.assertHistoryHasNo(h.workflowID("portal", "ada"), s)
	}
	if bad := h.browser.Page(http.MethodGet, callback+"?state=not-a-state&code=x"); bad.Status != http.StatusBadRequest {
		t.Fatalf("malformed state = %d", bad.Status)
	}

	// Second sign-on: every forged answer is refused and counted, then the
	// bound identity signs in again through the same link.
	h.Expect("/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
	msg = h.waitMessage("ada@example.com", 2)
	refusals := []struct {
		name   string
		knob   func(p *oidctest.Provider)
		reason string
	}{
		{"bad signature", func(p *oidctest.Provider) { p.SignWithOther = true }, "signature"},
		{"wrong audience", func(p *oidctest.Provider) { p.SignWithOther, p.Audience = false, "someone-else" }, "audience"},
	}
	for i, r := range refusals {
		prov.Set(r.knob)
		code, state := oidctest.Browse(t, h.continueURL(msg.Link), callback)
		res := h.browser.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode())
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
	if res := h.browser.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode()); res.Status != http.StatusOK {
		t.Fatalf("bound identity again: callback = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusOK, "authenticated")

	// Another genuine identity (alan's, picked by mistake) is no guess:
	// the attempt ends, refused, and nothing is counted against ada.
	prov.Set(func(p *oidctest.Provider) { p.LoginAs = "alan@example.org" })
	res := h.ssoSignOn("ada", "ada@example.com", 3)
	prov.Set(func(p *oidctest.Provider) { p.LoginAs = "" })
	h.wantRefusedUncounted(res, "ada", "not the one bound", 2)

	// A first sign-on must bring the user's own email: eve's attempt
	// answered by ada's provider identity is refused, uncounted, and the
	// identity bound to ada is not bound to eve.
	h.wantRefusedUncounted(h.ssoSignOn("eve", "eve@example.com", 1), "eve", "email to be the user's", 0)
	eve, err := h.Store.GetUser(context.Background(), "acme", "eve")
	if err != nil || eve.SSOSubject != "" {
		t.Fatalf("eve bound to %q (err %v)", eve.SSOSubject, err)
	}

	// A Google-like provider that does not say the email is verified
	// vouches for nothing: alan's first sign-on is refused, uncounted.
	prov.Set(func(p *oidctest.Provider) { p.OmitClaims = []string{"email_verified"} })
	h.wantRefusedUncounted(h.ssoSignOn("alan", "alan@example.org", 1), "alan", "an email the provider vouches for", 0)
	if alan, err := h.Store.GetUser(context.Background(), "acme", "alan"); err != nil || alan.SSOSubject != "" {
		t.Fatalf("alan bound to %q (err %v)", alan.SSOSubject, err)
	}
}

// TestEntraSingleSignOn signs users on through the real oidc plugin process
// and a local provider that behaves like Microsoft Entra ID (issuer
// <authority>/<tenant ID>/v2.0, no email_verified; tid, oid,
// preferred_username). A member whose email is in a verified domain of the
// tenant binds on tid and oid at once; a token of another tenant is refused
// and counted; an email outside the verified domains is refused without
// counting, however often; an administrator's approval lets that user on.
func TestEntraSingleSignOn(t *testing.T) {
	t.Parallel()
	prov := oidctest.NewEntra(t)
	cfg := prov.Config()
	cfg["verified_domains"] = "contoso.example"
	h := newHarness(t, withSignOn(cfg))
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "portal", "methods": []string{"sso", "pin"}, "sensitivity": "low"}, http.StatusCreated)
	for authid, email := range map[string]string{"megan": "megan@contoso.example", "lee": "lee@partner.example"} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "email": email}, http.StatusCreated)
		h.Admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", req{"assignments": []req{{"system": "portal", "method": "sso"}}}, http.StatusOK)
	}
	users := oidctest.EntraUsers()
	megan, lee := users["megan@contoso.example"], users["lee@partner.example"]

	// Megan's email is in a verified domain: her first sign-on binds her
	// object ID (not the pairwise sub) in the tenant's issuer.
	if res := h.ssoSignOn("megan", "megan@contoso.example", 1); res.Status != http.StatusOK || !strings.Contains(res.Body, "You are signed in to portal") {
		t.Fatalf("megan's first sign-on: callback = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "megan"}, http.StatusOK, "authenticated")
	got, err := h.Store.GetUser(context.Background(), "acme", "megan")
	if err != nil || got.SSOIssuer != prov.Issuer() || got.SSOSubject != megan.OID {
		t.Fatalf("megan bound to %q %q (err %v), want %s %s", got.SSOIssuer, got.SSOSubject, err, prov.Issuer(), megan.OID)
	}
	bound := h.auditEvents("megan", attempt.EventSSOBound)
	if len(bound) != 1 || bound[0].Detail["proof"] != "verified_domain" || bound[0].Detail["subject"] != megan.OID {
		t.Fatalf("sso.bound events = %+v", bound)
	}

	// A token of another tenant is refused, and counted: it is not one
	// Entra issued for this tenant.
	prov.Set(func(p *oidctest.Provider) { p.ExtraClaims = map[string]any{"tid": oidctest.EntraOtherTenantID} })
	res := h.ssoSignOn("megan", "megan@contoso.example", 2)
	prov.Set(func(p *oidctest.Provider) { p.ExtraClaims = nil })
	if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "Sign-in refused") {
		t.Fatalf("another tenant: callback = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "megan"}, http.StatusAccepted, "pending")
	if reasons := h.rejections("megan"); len(reasons) != 1 || !strings.Contains(reasons[0], "not the configured tenant") {
		t.Fatalf("megan's rejections = %q", reasons)
	}

	// Lee's email is outside the verified domains: each first sign-on is
	// refused and ends its attempt, and none counts; six tries (more than
	// max_attempts) lock nothing.
	for i := 1; i <= 6; i++ {
		h.wantRefusedUncounted(h.ssoSignOn("lee", "lee@partner.example", i), "lee", "an email the provider vouches for", 0)
	}
	if types := h.AuditTypes("authid=lee&type=" + attempt.EventLocked); len(types) != 0 {
		t.Fatalf("lee locked: %v", types)
	}
	// What the provider answered is in the audit trail, for an
	// administrator to approve.
	refused := h.auditEvents("lee", attempt.EventSSORefused)
	if len(refused) != 6 || refused[0].Detail["issuer"] != prov.Issuer() || refused[0].Detail["subject"] != lee.OID {
		t.Fatalf("sso.refused events = %+v", refused)
	}
	h.Admin(http.MethodPut, "/v1/admin/users/lee/sso", req{"issuer": refused[0].Detail["issuer"], "subject": refused[0].Detail["subject"]}, http.StatusOK)
	if res := h.ssoSignOn("lee", "lee@partner.example", 7); res.Status != http.StatusOK {
		t.Fatalf("lee approved: callback = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "lee"}, http.StatusOK, "authenticated")
	if types := h.AuditTypes("authid=lee&type=" + attempt.EventSSOApproved); len(types) != 1 {
		t.Fatalf("sso.approved events = %v", types)
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
	callback := h.URL + attempt.SSOCallbackPath

	h.Expect("/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
	msg := h.waitMessage("ada@example.com", 1)
	_, state := oidctest.Browse(t, h.continueURL(msg.Link), callback)
	cancelled := h.browser.Page(http.MethodGet, callback+"?"+url.Values{"error": {"access_denied"}, "state": {state}}.Encode())
	if cancelled.Status != http.StatusForbidden || !strings.Contains(cancelled.Body, "not completed") {
		t.Fatalf("cancelled = %d %s", cancelled.Status, cancelled.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusAccepted, "pending")
	if again := h.browser.Page(http.MethodGet, callback+"?"+url.Values{"code": {"x"}, "state": {state}}.Encode()); again.Status != http.StatusGone {
		t.Fatalf("state used by the error answer = %d", again.Status)
	}
	code, state := oidctest.Browse(t, h.continueURL(msg.Link), callback)
	if res := h.browser.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode()); res.Status != http.StatusOK {
		t.Fatalf("retry = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusOK, "authenticated")
}

// ssoSignOn starts an sso attempt for authid, opens its nth message's
// link, signs on at the provider and returns the callback's page.
func (h *harness) ssoSignOn(authid, email string, n int) apitest.Response {
	h.t.Helper()
	h.Expect("/v1/start", req{"system": "portal", "authid": authid}, http.StatusOK, "success")
	msg := h.waitMessage(email, n)
	callback := h.URL + attempt.SSOCallbackPath
	code, state := oidctest.Browse(h.t, h.continueURL(msg.Link), callback)
	return h.browser.Page(http.MethodGet, callback+"?"+url.Values{"code": {code}, "state": {state}}.Encode())
}

// wantRefusedUncounted checks that a callback refused a genuine identity:
// the attempt is denied with the reason, the refusal is audited, and
// authid's wrong-code events stay at counted (the next start not being
// denied "locked out" shows the count the policy reads).
func (h *harness) wantRefusedUncounted(res apitest.Response, authid, reason string, counted int) {
	h.t.Helper()
	if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "Sign-in refused") || !strings.Contains(res.Body, "administrator") {
		h.t.Fatalf("%s: callback = %d %s", authid, res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": authid}, http.StatusForbidden, "security error")
	denied := h.auditEvents(authid, attempt.EventDenied)
	if len(denied) == 0 || len(denied[0].Reasons) == 0 || !strings.Contains(denied[0].Reasons[0], reason) {
		h.t.Fatalf("%s: denials = %+v, want the last about %q", authid, denied, reason)
	}
	if refused := h.auditEvents(authid, attempt.EventSSORefused); len(refused) == 0 || !strings.Contains(refused[0].Reasons[0], reason) {
		h.t.Fatalf("%s: sso.refused events = %+v", authid, refused)
	}
	if n := len(h.auditEvents(authid, attempt.EventRejected)); n != counted {
		h.t.Fatalf("%s: %d code.rejected events, want %d", authid, n, counted)
	}
}

// auditEvents are authid's events of type typ, newest first.
func (h *harness) auditEvents(authid, typ string) []store.AuditEvent {
	h.t.Helper()
	res := h.Do(http.MethodGet, "/v1/admin/audit?authid="+url.QueryEscape(authid)+"&type="+url.QueryEscape(typ), h.AdminKey, nil)
	var out struct {
		Events []store.AuditEvent `json:"events"`
	}
	if res.Status != http.StatusOK || json.Unmarshal([]byte(res.Body), &out) != nil {
		h.t.Fatalf("audit of %s: %d %s", authid, res.Status, res.Body)
	}
	return out.Events
}

var continueRE = regexp.MustCompile(`id="continue" href="([^"]+)"`)

// continueURL posts an sso link's page, as its button does, and returns
// the provider URL the answer sends the browser to.
func (h *harness) continueURL(link string) string {
	h.t.Helper()
	res := h.browser.Page(http.MethodPost, link)
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
		out := apitest.AdminAs[apitest.AuditEvents](h.Client, http.MethodGet, "/v1/admin/audit?authid="+authid+"&type="+attempt.EventRejected, nil, http.StatusOK)
		events := out.Events
		reasons = reasons[:0]
		for _, e := range events {
			rs := e.Reasons
			if len(rs) > 0 {
				reasons = append(reasons, rs[0])
			}
		}
		if len(reasons) > 0 || time.Now().After(deadline) {
			return reasons
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSingleSignOnFromTheStartURL sends the browser to the provider from
// the URL start answers, without the email round trip: the hosted page's
// Continue leads to the provider, the callback completes the attempt and
// sends the user to the system's return URL.
func TestSingleSignOnFromTheStartURL(t *testing.T) {
	t.Parallel()
	prov := oidctest.New(t)
	h := newHarness(t, withSignOn(prov.Config()))
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "portal", "methods": []string{"sso"}, "sensitivity": "low",
		"return_url": "https://app.example/home"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "email": "ada@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/ada/systems", req{"assignments": []req{{"system": "portal", "method": "sso"}}}, http.StatusOK)

	out := apitest.ExpectAs[apitest.StartSuccess](h.Client, "/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
	page := out.URL
	if out.Method != "sso" || !strings.HasPrefix(page, h.URL+attempt.PagePath) {
		t.Fatalf("start = %v, want method sso and the hosted page's url", out)
	}
	if res := h.Page(http.MethodGet, page); res.Status != http.StatusOK || !strings.Contains(res.Body, "organisation") {
		t.Fatalf("GET url = %d %s", res.Status, res.Body)
	}
	authURL := h.continueURL(page)
	if !strings.HasPrefix(authURL, prov.Issuer()+"/authorize?") {
		t.Fatalf("continue to %s, want the provider", authURL)
	}
	code, state := oidctest.Browse(t, authURL, h.URL+attempt.SSOCallbackPath)
	back := h.URL + attempt.SSOCallbackPath + "?" + url.Values{"code": {code}, "state": {state}}.Encode()
	// Another browser (that of a user whom a stranger sent to the
	// provider with the stranger's request) cannot finish it: refused,
	// audited, and the request stays usable by the browser it was for.
	if other := h.Page(http.MethodGet, back); other.Status != http.StatusForbidden || !strings.Contains(other.Body, "started in another browser") {
		t.Fatalf("callback in another browser = %d %s", other.Status, other.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusAccepted, "pending")
	if types := h.AuditTypes("authid=ada&type=sso.wrong_browser"); len(types) != 1 {
		t.Fatalf("sso.wrong_browser events = %v", types)
	}
	done := h.browser.Page(http.MethodGet, back)
	if done.Status != http.StatusOK || !strings.Contains(done.Body, `url=https://app.example/home`) || !strings.Contains(done.Body, `href="https://app.example/home"`) {
		t.Fatalf("callback = %d %s, want the return URL", done.Status, done.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada"}, http.StatusOK, "authenticated")
	// The URL is spent with its attempt.
	if res := h.Page(http.MethodGet, page); res.Status != http.StatusGone {
		t.Fatalf("GET url after = %d", res.Status)
	}
}
