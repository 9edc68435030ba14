package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/flexauth/flexauth/internal/apitest"
)

// TestForgotPasswordAndAccountSwitchOff walks the way back for a user who
// forgot their password, on a phone: "Forgot password?" with the keyboard
// alone, the reset message in the outbox, the reset page (a common
// password refused with its reason, then a good one), the notice that the
// password changed. Then the administrator turns email and password sign-in
// off on the Account page, confirming the number of users who lose their
// credentials, and the user's password is gone.
func TestForgotPasswordAndAccountSwitchOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Admin(http.MethodPatch, "/v1/admin/account", map[string]any{"email_password_login": true}, http.StatusOK)
	h.Admin(http.MethodPost, "/v1/admin/users", map[string]any{"authid": "ada", "name": "Ada", "email": "ada@example.com", "email_password_login": true}, http.StatusCreated)
	welcome := h.waitMessage("ada@example.com", 1)
	form := url.Values{"password": {"correct horse battery"}, "confirm": {"correct horse battery"}}
	r, err := http.NewRequest(http.MethodPost, welcome.Link, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", h.URL)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("setting the first password = %d", res.StatusCode)
	}

	b := newBrowser(t, h, "laptop", 1280, 800)
	b.signIn()
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	const fits = `document.querySelectorAll('script').length === 0 && document.documentElement.scrollWidth <= document.documentElement.clientWidth`

	// "Forgot password?" on a phone, by keyboard.
	run("open forgot password",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(h.URL+"/forgot/acme"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
	)
	b.waitFor(tab, `document.querySelector('h1').innerText === 'Forgot your password?' &&
		document.querySelector('label[for="email"]').innerText === 'Email address' && `+fits, "the forgot page, labelled, at 390 px without sideways scroll")
	shot(t, tab, "phone-forgot")
	run("ask for a reset link", chromedp.Focus(chromedp.CSS("#email")), chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"+kb.Enter))
	b.waitFor(tab, `document.querySelector('h1') && document.querySelector('h1').innerText === 'Check your email' && `+fits, "the same answer for everyone")
	shot(t, tab, "phone-forgot-sent")

	msg := h.waitMessage("ada@example.com", 2)
	if msg.Subject != "Reset your password for Acme" || !strings.HasPrefix(msg.Link, h.URL+"/r/") || !strings.Contains(msg.Body, msg.Link) {
		t.Fatalf("reset message = %+v", msg)
	}
	run("open the reset link", chromedp.Navigate(msg.Link), chromedp.WaitVisible(chromedp.CSS("#password")))
	b.waitFor(tab, `document.querySelector('h1').innerText === 'Choose a new password for Acme' &&
		document.getElementById('note').innerText.includes('does not sign you in') &&
		document.querySelector('label[for="password"]').innerText === 'New password' && `+fits, "the reset page, saying it signs nobody in, at 390 px")
	shot(t, tab, "phone-reset")
	run("submit a common password",
		chromedp.SendKeys(chromedp.CSS("#password"), "password123"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "password123"+kb.Enter),
	)
	b.waitFor(tab, `Boolean(document.getElementById('refusal')) && document.getElementById('refusal').innerText.includes('`+apitest.RefusedCommon+`')`,
		"the refusal with its reason")
	run("submit a good password by keyboard",
		chromedp.SendKeys(chromedp.CSS("#password"), "a brand new secret"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "a brand new secret"+kb.Enter),
	)
	b.waitFor(tab, `document.querySelector('h1') && document.querySelector('h1').innerText === 'Your password is changed' && `+fits, "the password to be changed")
	shot(t, tab, "phone-reset-done")
	if notice := h.waitMessage("ada@example.com", 3); notice.Subject != "Your password for Acme was changed" || notice.Link != "" {
		t.Fatalf("notice = %+v", notice)
	}
	if got := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.PasswordChangedAt == nil {
		t.Fatalf("ada = %v, want her password changed", got)
	}

	// The administrator turns it off, confirming who loses what.
	b.open("#/account")
	b.waitText(tid("email-password-state"), "Email and password authentication is on")
	b.do(
		chromedp.Click(chromedp.CSS(tid("email-password-login"))),
		chromedp.Click(chromedp.CSS(tid("account-save"))),
	)
	b.waitVisible(tid("confirm-dialog"))
	b.waitText(tid("confirm-dialog"), "Delete the passwords and second factors of 1 user?")
	b.shot("account-password-off-confirm")
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-cancel"))))
	b.waitFor(b.ctx, `!document.getElementById('confirm-dialog').open && document.querySelector('[data-testid="email-password-login"]').checked`,
		"the dialog to close and the box to be ticked again")
	if got := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.PasswordSetAt == nil {
		t.Fatal("a cancelled change deleted the password")
	}
	b.do(
		chromedp.Click(chromedp.CSS(tid("email-password-login"))),
		chromedp.Click(chromedp.CSS(tid("account-save"))),
	)
	b.waitText(tid("confirm-dialog"), "Delete the passwords and second factors of 1 user?")
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
	b.waitText(tid("status"), "Email and password authentication turned off.")
	b.waitText(tid("account-outcome"), "Deleted 1 password, 0 authenticator apps and 0 recovery codes of 1 user.")
	b.waitText(tid("email-password-state"), "Email and password authentication is off")
	if got := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.PasswordSetAt != nil || !got.EmailPasswordLogin {
		t.Fatalf("ada after the switch went off = %v, want no password and her switch kept", got)
	}
	b.assertNoScriptErrors()
}
