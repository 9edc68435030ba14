package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
)

// TestPasswordSignInOnThePhone walks email and password sign-in as a user
// on a 390 px phone sees it: the welcome link from the outbox, a common
// password refused and a good one set; an application's start answers the
// hosted page's URL; the password, then forced enrolment with a code
// computed from the key the page shows; the recovery codes once; the
// application's check sees authenticated. The next sign-in takes a
// recovery code, which is then spent; then "Forgot password?" and a reset
// link, after which two-factor is still asked; an administrator's reset
// of two-factor, after which the user enrols again; and the account's
// switch turned off, which removes the credentials: the password sign-in
// is refused while a link sign-in still works. Every page has no script,
// labels its fields and does not scroll sideways.
func TestPasswordSignInOnThePhone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	h.Admin(http.MethodPatch, "/v1/admin/account", map[string]any{"email_password_login": true}, http.StatusOK)
	h.Admin(http.MethodPost, "/v1/admin/systems", map[string]any{
		"name": "portal", "methods": []string{"password"}, "sensitivity": "medium", "ttl_seconds": 300,
		"return_url": h.URL + "/openapi.json",
	}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", map[string]any{
		"authid": "ada", "name": "Ada", "email": "ada@example.com", "email_password_login": true,
	}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/ada/systems", map[string]any{
		"assignments": []map[string]any{{"system": "portal", "method": "password"}},
	}, http.StatusOK)
	welcome := h.waitMessage("ada@example.com", 1)

	b := newBrowser(t, h, "phone", 390, 844)
	pt := newPageTab(t, b)
	tab, run, text := pt.ctx, pt.run, pt.text
	const plainPage = `document.querySelectorAll('script').length === 0 &&
		document.documentElement.scrollWidth <= document.documentElement.clientWidth`

	// The welcome link: a common password is refused, a good one set.
	run("open the welcome link", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(welcome.Link),
		chromedp.WaitVisible(chromedp.CSS("#password")))
	run("submit a common password",
		chromedp.SendKeys(chromedp.CSS("#password"), "password123"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "password123"+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('refusal')) && document.getElementById('refusal').innerText.includes('`+apitest.RefusedCommon+`')`, "the common password refused")
	run("submit a good password",
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery staple"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "correct horse battery staple"+kb.Enter))
	b.waitFor(tab, `document.querySelector('h1') && document.querySelector('h1').innerText === 'Your password is set'`, "the password set")

	// The application starts a sign-in and sends the browser to its URL.
	start := func() (string, string) {
		t.Helper()
		out := apitest.ExpectAs[apitest.StartSuccess](h.Client, "/v1/start", map[string]any{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
		u := out.URL
		if out.Method != "password" || !strings.HasPrefix(u, h.URL+attempt.PagePath) {
			t.Fatalf("start = %v", out)
		}
		return out.Attempt, u
	}
	attemptID, page := start()
	check := map[string]any{"system": "portal", "authid": "ada", "attempt": attemptID}
	run("open the sign-in page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#password")))
	b.waitFor(tab, `document.querySelector('label[for="password"]').innerText === 'Password' &&
		document.getElementById('username').value === 'a•••@example.com' &&
		document.getElementById('forgot').getAttribute('href') === '/forgot/acme' && `+plainPage, "the password form at 390 px")
	shot(t, tab, "phone-signin-password")
	run("type a wrong password", chromedp.SendKeys(chromedp.CSS("#password"), "not my password"+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('refusal')) && document.getElementById('refusal').innerText.includes('That password is not right.')`, "the wrong password refused")
	run("type the password", chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery staple"+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('qr')) && document.getElementById('qr').complete &&
		document.getElementById('qr').naturalWidth > 0 && document.getElementById('totp-key').innerText.length >= 16 &&
		document.querySelector('label[for="code"]').innerText.length > 0 && `+plainPage, "enrolment: a QR code that loads and the key")
	shot(t, tab, "phone-signin-enrol")
	h.Expect("/v1/check", check, http.StatusAccepted, "pending")

	key := strings.ReplaceAll(text(`document.getElementById('totp-key').innerText`), " ", "")
	code, err := attempt.TOTPCode(key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run("confirm the app", chromedp.SendKeys(chromedp.CSS("#code"), code+kb.Enter))
	b.waitFor(tab, `document.querySelectorAll('#recovery-codes li').length === 10 && `+plainPage, "the recovery codes, shown once")
	shot(t, tab, "phone-signin-recovery-codes")
	codes := strings.Fields(text(`Array.from(document.querySelectorAll('#recovery-codes code')).map(c => c.innerText).join(' ')`))
	if len(codes) != 10 {
		t.Fatalf("codes = %v", codes)
	}
	if got := text(`document.getElementById('next').getAttribute('href')`); got != h.URL+"/openapi.json" {
		t.Fatalf("continue link = %q, want the system's return URL", got)
	}
	h.Expect("/v1/check", check, http.StatusOK, "authenticated")

	// The next sign-in: the password, then a recovery code; the page then
	// goes back to the application by itself.
	attemptID, page = start()
	run("open the next sign-in", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#password")))
	run("type the password again", chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery staple"+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('code')) && document.querySelector('h1').innerText === 'Two-step verification'`, "the code step")
	run("use a recovery code", chromedp.SendKeys(chromedp.CSS("#code"), codes[3]+kb.Enter))
	b.waitFor(tab, `location.href === '`+h.URL+`/openapi.json'`, "the return URL after signing in")
	h.Expect("/v1/check", map[string]any{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusOK, "authenticated")

	// The spent code does not work again.
	attemptID, page = start()
	run("open a third sign-in", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#password")))
	run("password", chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery staple"+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('code'))`, "the code step")
	run("reuse the recovery code", chromedp.SendKeys(chromedp.CSS("#code"), codes[3]+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('refusal')) && document.getElementById('refusal').innerText.includes('That code is not right.')`, "the spent code refused")
	h.Expect("/v1/check", map[string]any{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusAccepted, "pending")

	// Forgot password: from the sign-in page's link, the reset message in
	// the outbox, a new password; the next sign-in still takes a code.
	_, page = start()
	run("open a sign-in to forget the password", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#forgot")),
		chromedp.Click(chromedp.CSS("#forgot")))
	b.waitFor(tab, `Boolean(document.querySelector('input[type="email"]')) && `+plainPage, "the forgot password form")
	run("ask for a reset", chromedp.SendKeys(chromedp.CSS(`input[type="email"]`), "ada@example.com"+kb.Enter))
	b.waitFor(tab, `document.querySelector('h1') !== null && document.body.innerText.length > 0 && !document.querySelector('input[type="email"]')`, "the same answer for every address")
	reset := h.waitMessageWhere("ada@example.com", "reset link", func(m message) bool { return strings.Contains(m.Link, "/r/") })
	run("open the reset link", chromedp.Navigate(reset.Link), chromedp.WaitVisible(chromedp.CSS("#password")))
	run("choose a new password",
		chromedp.SendKeys(chromedp.CSS("#password"), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "a brand new passphrase"+kb.Enter))
	b.waitFor(tab, `!document.getElementById('confirm')`, "the new password set")
	attemptID, page = start()
	run("sign in with the new password", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), "a brand new passphrase"+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('code')) && document.querySelector('h1').innerText === 'Two-step verification'`, "two-factor still asked after a reset")
	code, err = attempt.TOTPCode(key, time.Now().Add(attempt.TOTPPeriod*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	run("type the next code", chromedp.SendKeys(chromedp.CSS("#code"), code+kb.Enter))
	b.waitFor(tab, `location.href === '`+h.URL+`/openapi.json'`, "signed in with the new password")
	h.Expect("/v1/check", map[string]any{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusOK, "authenticated")

	// Reset two-factor (by an administrator): the next sign-in enrols again.
	h.Admin(http.MethodDelete, "/v1/admin/users/ada/totp", nil, http.StatusNoContent)
	_, page = start()
	run("sign in after the reset", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), "a brand new passphrase"+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('qr')) && document.getElementById('totp-key').innerText.replaceAll(' ', '') !== '`+key+`'`, "enrolment of a new app")

	// The account switch off deletes the credentials: the password sign-in
	// is refused, a link sign-in still works.
	out := h.Do(http.MethodPatch, "/v1/admin/account", h.AdminKey, map[string]any{"email_password_login": false})
	if out.Status != http.StatusConflict || apitest.Decode[apitest.AffectedUsers](t, out).AffectedUsers != 1 {
		t.Fatalf("switch off without confirming = %d %s", out.Status, out.Body)
	}
	h.Admin(http.MethodPatch, "/v1/admin/account", map[string]any{"email_password_login": false, "confirm_affected_users": 1}, http.StatusOK)
	run("the open sign-in page", chromedp.Reload())
	b.waitFor(tab, `!document.getElementById('code') && !document.getElementById('password')`, "the open sign-in cannot go on")
	h.Expect("/v1/start", map[string]any{"system": "portal", "authid": "ada"}, http.StatusForbidden, "security error")
	if u := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); u.TOTPEnabled || u.PasswordSetAt != nil {
		t.Fatalf("ada after the switch off = %v, want no password and no app", u)
	}
	h.Admin(http.MethodPatch, "/v1/admin/systems/portal", map[string]any{"methods": []string{"password", "passwordless"}}, http.StatusOK)
	h.Admin(http.MethodPut, "/v1/admin/users/ada/systems", map[string]any{
		"assignments": []map[string]any{{"system": "portal", "method": "passwordless"}},
	}, http.StatusOK)
	attemptID = h.Start("portal", "ada")
	link := h.waitAttemptMessage(attemptID)
	run("confirm the link", chromedp.Navigate(link.Link), chromedp.WaitVisible(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	b.waitFor(tab, `location.href === '`+h.URL+`/openapi.json'`, "the link sign-in, back to the system")
	h.Expect("/v1/check", map[string]any{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusOK, "authenticated")
}

// pageTab is a tab beside the console's, for the pages users see: run
// does actions, text evaluates an expression, each failing the test.
type pageTab struct {
	t   *testing.T
	ctx context.Context
}

func newPageTab(t *testing.T, b *consoleBrowser) pageTab {
	tab, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	return pageTab{t: t, ctx: tab}
}

func (p pageTab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p pageTab) text(expr string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}
