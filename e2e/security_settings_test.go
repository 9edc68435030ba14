package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/flexauth/flexauth/attempt"
)

// waitMessageWhere waits for an outbox message to to that match accepts.
func (h *harness) waitMessageWhere(to, what string, match func(message) bool) message {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := os.Open(h.outbox); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var m message
				if err := json.Unmarshal(sc.Bytes(), &m); err == nil && m.To == to && match(m) {
					f.Close()
					return m
				}
			}
			f.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("no %s to %s in the outbox within 15s", what, to)
	return message{}
}

// TestSecuritySettingsOnThePhone walks the security settings as a user on
// a 390 px phone sees them, with the keyboard: the sign-in form, the
// password and forced enrolment on the attempt's page, the recovery codes,
// then the settings: new recovery codes, the email verified with a link
// from the outbox, the password changed, two-step verification reset and
// a new authenticator app set up, and sign-out. Every page has no script,
// labels its fields and does not scroll sideways; every change is told to
// the user by a notice in the outbox.
func TestSecuritySettingsOnThePhone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	h.Admin(http.MethodPatch, "/v1/admin/account", map[string]any{"email_password_login": true}, http.StatusOK)
	h.Admin(http.MethodPost, "/v1/admin/users", map[string]any{
		"authid": "ada", "name": "Ada", "email": "ada@example.com", "email_password_login": true,
	}, http.StatusCreated)
	welcome := h.waitMessage("ada@example.com", 1)

	b := newBrowser(t, h, "phone", 390, 844)
	pt := newPageTab(t, b)
	tab, run, text := pt.ctx, pt.run, pt.text
	const plainPage = `document.querySelectorAll('script').length === 0 &&
		document.documentElement.scrollWidth <= document.documentElement.clientWidth &&
		Array.from(document.querySelectorAll('input:not([type=hidden]):not([hidden])')).every(i => i.labels && i.labels.length > 0)`
	says := func(what, s string) {
		t.Helper()
		b.waitFor(tab, `document.body.innerText.includes(`+jsString(s)+`) && `+plainPage, what)
	}
	code := func(key string, ahead time.Duration) string {
		t.Helper()
		c, err := attempt.TOTPCode(strings.ReplaceAll(key, " ", ""), time.Now().Add(ahead))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	run("set a password", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(welcome.Link),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery staple"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "correct horse battery staple"+kb.Enter))
	b.waitFor(tab, `document.querySelector('h1') && document.querySelector('h1').innerText === 'Your password is set'`, "the password set")

	// The sign-in form, then the password's attempt page: forced enrolment.
	base := h.URL + "/security/acme"
	run("open the security settings", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#email")))
	says("the sign-in form", "Sign in to your security settings")
	if got := text(`document.getElementById('email').autocomplete + ' ' + document.getElementById('password').autocomplete`); got != "username current-password" {
		t.Fatalf("autocomplete = %q", got)
	}
	shot(t, tab, "phone-security-signin")
	run("a wrong password", chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not my password"+kb.Enter))
	says("the refusal", "The email or password is not right.")
	run("the password", chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery staple"+kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('qr')) && document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0 && `+plainPage,
		"enrolment on the attempt's page")
	key := text(`document.getElementById('totp-key').innerText`)
	run("confirm the app", chromedp.SendKeys(chromedp.CSS("#code"), code(key, 0)+kb.Enter))
	b.waitFor(tab, `document.querySelectorAll('#recovery-codes li').length === 10 && document.getElementById('next').getAttribute('href') === '/security/acme' && `+plainPage,
		"the recovery codes and the way to the settings")
	run("continue to the settings", chromedp.Focus(chromedp.CSS("#next")), chromedp.KeyEvent(kb.Enter))
	says("the settings", "Security settings")
	b.waitFor(tab, `document.getElementById('totp-status').innerText.startsWith('On since') &&
		document.getElementById('recovery-left').innerText.startsWith('10 of 10') &&
		document.getElementById('email-verified').innerText === 'No'`, "the settings' facts")
	shot(t, tab, "phone-security-settings")

	// New recovery codes, by the keyboard.
	run("make new recovery codes", chromedp.Focus(chromedp.CSS(`form[action$="/recovery-codes"] button`)), chromedp.KeyEvent(kb.Enter))
	b.waitFor(tab, `document.querySelectorAll('#recovery-codes li').length === 10 && `+plainPage, "the new codes, shown once")
	shot(t, tab, "phone-security-new-codes")
	h.waitMessageWhere("ada@example.com", "the codes' notice", func(m message) bool { return m.Subject == "New recovery codes for Acme" })

	// The email, verified with a link from the outbox.
	run("verify my email", chromedp.Focus(chromedp.CSS(`form[action$="/verify-email"] button`)), chromedp.KeyEvent(kb.Enter))
	says("the link sent", "We sent a link to ada@example.com.")
	verify := h.waitMessageWhere("ada@example.com", "the verification link", func(m message) bool { return strings.HasPrefix(m.Link, h.URL+attempt.VerifyPath) })
	run("open the verification link", chromedp.Navigate(verify.Link), chromedp.WaitVisible(chromedp.CSS("button")))
	says("the confirmation", "Confirm that ada@example.com is your email address.")
	run("confirm", chromedp.Focus(chromedp.CSS("button")), chromedp.KeyEvent(kb.Enter))
	says("verified", "Your email address is verified")
	run("back to the settings", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#email-verified")))
	b.waitFor(tab, `document.getElementById('email-verified').innerText.startsWith('Yes, since')`, "the email verified")

	// The password, changed with the current one.
	run("change the password",
		chromedp.SendKeys(chromedp.CSS("#current"), "correct horse battery staple"),
		chromedp.SendKeys(chromedp.CSS("#new"), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "a brand new passphrase"+kb.Enter))
	says("the password changed", "Your password is changed.")
	h.waitMessageWhere("ada@example.com", "the password's notice", func(m message) bool { return m.Subject == "Your password for Acme was changed" })

	// Two-step verification reset (the checkbox by the keyboard), then a new app here.
	run("reset two-step verification", chromedp.Focus(chromedp.CSS("#reset-confirm")), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`form[action$="/reset-two-factor"] button`)), chromedp.KeyEvent(kb.Enter))
	says("reset", "Two-step verification is reset")
	b.waitFor(tab, `document.getElementById('totp-status').innerText.startsWith('Not set up')`, "no authenticator")
	run("set up an app", chromedp.Focus(chromedp.CSS(`form[action$="/totp"] button`)), chromedp.KeyEvent(kb.Enter))
	b.waitFor(tab, `Boolean(document.getElementById('qr')) && document.getElementById('qr').naturalWidth > 0 && `+plainPage, "the QR code")
	shot(t, tab, "phone-security-enrol")
	key = text(`document.getElementById('totp-key').innerText`)
	run("confirm the new app", chromedp.SendKeys(chromedp.CSS("#code"), code(key, 0)+kb.Enter))
	says("set up", "Your authenticator app is set up.")
	b.waitFor(tab, `document.querySelectorAll('#recovery-codes li').length === 10 && document.getElementById('totp-status').innerText.startsWith('On since')`, "the new app on")
	h.waitMessageWhere("ada@example.com", "the reset's notice", func(m message) bool { return m.Subject == "Your two-step verification for Acme was reset" })
	h.waitMessageWhere("ada@example.com", "the app's notice", func(m message) bool { return m.Subject == "An authenticator app was set up for Acme" })

	run("sign out", chromedp.Focus(chromedp.CSS(`form[action$="/sign-out"] button`)), chromedp.KeyEvent(kb.Enter))
	says("signed out", "You are signed out.")
	run("reload", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#email")))
	says("the sign-in form again", "Sign in to your security settings")
}
