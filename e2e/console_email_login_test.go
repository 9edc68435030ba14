package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/flexauth/flexauth/internal/apitest"
)

// TestConsoleEmailLoginWelcome walks email and password sign-in from the
// console to the user: the administrator allows it on the Account page,
// creates a user with it and enables it for another through the users
// list's "Email login actions"; the welcome message reaches the outbox
// through the worker and its plugin; the user opens the link on a phone,
// is refused a common password with the reason, then sets a good one by
// keyboard alone, once.
func TestConsoleEmailLoginWelcome(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Admin(http.MethodPost, "/v1/admin/users", map[string]any{"authid": "ada", "name": "Ada", "email": "ada@example.com"}, http.StatusCreated)
	b := newBrowser(t, h, "laptop", 1280, 800)
	b.signIn()

	// The account allows it.
	b.open("#/account")
	b.waitText(tid("email-password-state"), "Email and password authentication is off")
	b.do(
		chromedp.Click(chromedp.CSS(tid("email-password-login"))),
		chromedp.Click(chromedp.CSS(tid("account-save"))),
	)
	b.waitText(tid("status"), "Email and password authentication turned on.")
	b.waitText(tid("email-password-state"), "Email and password authentication is on")
	if got := apitest.AdminAs[apitest.Account](h.Client, http.MethodGet, "/v1/admin/account", nil, http.StatusOK); !got.EmailPasswordLogin {
		t.Fatalf("account = %v", got)
	}

	// A new user with it, from the create form.
	b.open("#/users")
	b.waitVisible(tid("users-table"))
	b.do(
		chromedp.Click(chromedp.CSS(tid("user-create-toggle"))),
		chromedp.SendKeys(chromedp.CSS(tid("user-authid")), "bob"),
		chromedp.SendKeys(chromedp.CSS(tid("user-email")), "bob@example.com"),
		chromedp.Click(chromedp.CSS(tid("user-email-login"))),
		chromedp.Click(chromedp.CSS(tid("user-create"))),
	)
	b.waitReady("#/users/bob")
	b.waitText(tid("status"), "a welcome email is on its way")
	if !b.evalBool(`document.querySelector('[data-testid="profile-email-login"]').checked`) {
		t.Fatal("bob's page does not show email login on")
	}
	h.waitMessage("bob@example.com", 1)

	// Ada, from the list: select her, then Email login actions → Enable.
	b.open("#/users")
	b.waitText(tid("email-login-ada"), "off")
	b.waitText(tid("email-login-bob"), "on, no password yet")
	if label := b.evalString(`document.querySelector('label[for="' + document.querySelector('[data-testid="select-ada"]').id + '"]').innerText`); label != "Select ada" {
		t.Fatalf("ada's box is labelled %q", label)
	}
	b.do(
		chromedp.Click(chromedp.CSS(tid("select-ada"))),
		chromedp.Click(chromedp.CSS(tid("email-login-actions-toggle"))),
	)
	b.waitText(tid("users-selected"), "1 user selected.")
	b.shot("users-email-login-actions")
	b.do(chromedp.Click(chromedp.CSS(tid("email-login-enable"))))
	b.waitVisible(tid("confirm-dialog"))
	b.waitText(tid("confirm-dialog"), "Enable email login for 1 user?")
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
	b.waitText(tid("email-login-outcome"), "1 user enabled")
	b.waitText(tid("email-login-ada"), "on, no password yet")
	b.assertNoScriptErrors()

	// The welcome message went through the worker's outbox plugin.
	msg := h.waitMessage("ada@example.com", 1)
	if msg.Subject != "Create your password for Acme" || !strings.HasPrefix(msg.Link, h.URL+"/w/") || !strings.Contains(msg.Body, msg.Link) {
		t.Fatalf("welcome message = %+v", msg)
	}

	// Ada opens it on her phone.
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("open the welcome link",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(msg.Link),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	)
	b.waitFor(tab, `document.querySelector('h1').innerText === 'Create your password for Acme' &&
		document.querySelector('label[for="password"]').innerText === 'New password' &&
		document.querySelector('label[for="confirm"]').innerText.length > 0 &&
		document.getElementById('rules').innerText.includes('At least 8 characters') &&
		document.querySelectorAll('script').length === 0 &&
		document.documentElement.scrollWidth <= document.documentElement.clientWidth`, "the welcome page with its labelled fields and rules, at 390 px without sideways scroll")
	shot(t, tab, "phone-welcome")

	// A common password is refused, with the reason, and nothing is set.
	run("submit a common password",
		chromedp.SendKeys(chromedp.CSS("#password"), "password123"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "password123"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
	)
	b.waitFor(tab, `Boolean(document.getElementById('refusal')) && document.getElementById('refusal').innerText.includes('`+apitest.RefusedCommon+`') &&
		document.activeElement === document.getElementById('password')`, "the refusal and its reason, the password field focused")
	shot(t, tab, "phone-welcome-refused")
	if got := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.PasswordSetAt != nil {
		t.Fatalf("a refused password was set: %v", got)
	}

	// A good one, typed and sent with the keyboard alone.
	run("submit a good password by keyboard",
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery staple"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "correct horse battery staple"+kb.Enter),
	)
	b.waitFor(tab, `document.querySelector('h1') && document.querySelector('h1').innerText === 'Your password is set'`, "the password to be set")
	shot(t, tab, "phone-welcome-set")
	if got := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.PasswordSetAt == nil {
		t.Fatalf("ada = %v, want a password set", got)
	}

	// The link worked once.
	run("open the link again", chromedp.Navigate(msg.Link))
	b.waitFor(tab, `document.querySelector('h1') && document.querySelector('h1').innerText === 'This link has expired or was already used'`, "the gone page")

	// The console shows it.
	b.open("#/users/ada")
	b.waitText(tid("profile-email-login-state"), "On; password set")
	b.assertNoScriptErrors()
}

// shot saves a screenshot of another tab than the console's.
func shot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	writeFile(t, artifactsDir(t)+"/"+name+".png", png)
}
