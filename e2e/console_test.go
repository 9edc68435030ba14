package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/internal/apitest"
)

// The console's end-to-end tests: the real console in headless Chromium
// against a whole deployment (PostgreSQL, Temporal, the outbox plugin, the
// API), signing in through the dev outbox like a person would. Screenshots
// of the main pages are saved as test artefacts.

const (
	chromiumPath = "/usr/bin/chromium"
	// browserTimeout bounds each test's whole browser session.
	browserTimeout = 150 * time.Second
	// waitTimeout bounds one wait for the page to show something.
	waitTimeout = 30 * time.Second
)

// TestConsoleAdministration walks through the console at laptop size: sign
// in through the dev outbox, create systems and a user, assign several
// systems, find an app attempt in the audit trail, create and revoke a key,
// see a broken policy refused, export and re-import users.
func TestConsoleAdministration(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	b := newBrowser(t, h, "laptop", 1280, 800)

	b.signIn()

	// Dashboard.
	{
		b.waitText(tid("tile-started"), "Attempts started")
		b.waitVisible(tid("dash-chart"))
		b.shot("dashboard")
	}

	// Create systems.
	{
		b.open("#/systems")
		b.waitVisible(tid("system-form"))
		// vpn: PIN and passwordless, high sensitivity; mail: passwordless.
		b.do(
			chromedp.SendKeys(chromedp.CSS(tid("system-name")), "vpn"),
			chromedp.Click(chromedp.CSS(tid("system-methods")+` input[value="pin"]`)),
			chromedp.SetValue(chromedp.CSS(tid("system-sensitivity")), "high"),
			chromedp.SetValue(chromedp.CSS(tid("system-ttl")), "120"),
			chromedp.Click(chromedp.CSS(tid("system-save"))),
		)
		b.waitText(tid("status"), "System vpn created.")
		b.do(
			chromedp.SendKeys(chromedp.CSS(tid("system-name")), "mail"),
			chromedp.Click(chromedp.CSS(tid("system-save"))),
		)
		b.waitText(tid("status"), "System mail created.")
		b.waitText(tid("systems-table"), "mail")
		b.shot("systems")

		vpn := apitest.AdminAs[apitest.System](h.Client, http.MethodGet, "/v1/admin/systems/vpn", nil, http.StatusOK)
		if fmt.Sprint(vpn.Methods) != "[passwordless pin]" || vpn.Sensitivity != "high" || vpn.TTLSeconds != 120 {
			t.Fatalf("vpn as saved = %v, want passwordless+pin, high, 120 s", vpn)
		}
		// A form error is shown and nothing is sent. The click is tried
		// again if it missed: once, on a loaded machine, it landed while the
		// form's effects were still being laid out and nothing was submitted.
		shown := `(() => { const e = document.querySelector('[data-testid="system-form-error"]'); return Boolean(e && e.innerText.includes('Enter a name.')); })()`
		for try := 1; ; try++ {
			b.do(chromedp.Click(chromedp.CSS(tid("system-save"))))
			ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
			_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](shown, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(3*time.Second)))
			cancel()
			if err == nil || try == 3 {
				break
			}
		}
		b.waitText(tid("system-form-error"), "Enter a name.")
	}

	// Create a user and assign several systems.
	{
		b.open("#/users")
		b.waitVisible(tid("users-table"))
		b.do(
			chromedp.Click(chromedp.CSS(tid("user-create-toggle"))),
			chromedp.SendKeys(chromedp.CSS(tid("user-authid")), "ada"),
			chromedp.SendKeys(chromedp.CSS(tid("user-name")), "Ada Lovelace"),
			chromedp.SendKeys(chromedp.CSS(tid("user-email")), "ada@example.com"),
			chromedp.Click(chromedp.CSS(tid("user-create"))),
		)
		b.waitReady("#/users/ada")
		b.waitText(tid("status"), "User ada created.")
		b.do(
			chromedp.Click(chromedp.CSS(tid("assign-vpn"))),
			chromedp.SetValue(chromedp.CSS(tid("assign-method-vpn")), "pin"),
			chromedp.Click(chromedp.CSS(tid("assign-mail"))),
			chromedp.Click(chromedp.CSS(tid("assign-save"))),
		)
		b.waitText(tid("status"), "Assignments saved: mail (passwordless), vpn (pin).")
		got := apitest.AdminAs[apitest.Assignments](h.Client, http.MethodGet, "/v1/admin/users/ada/systems", nil, http.StatusOK)
		if s := got.Assignments; !slices.Contains(s, apitest.Assignment{System: "mail", Method: "passwordless"}) || !slices.Contains(s, apitest.Assignment{System: "vpn", Method: "pin"}) {
			t.Fatalf("assignments as saved = %v, want mail passwordless and vpn pin", got)
		}

		// TOTP enrolment: a QR code and the secret, then a code from it.
		b.do(chromedp.Click(chromedp.CSS(tid("totp-enrol"))))
		b.waitVisible(tid("totp-qr"))
		if src := b.attr(tid("totp-qr"), "src"); !strings.HasPrefix(src, "data:image/png;base64,") {
			t.Fatalf("the enrolment QR code is %.40q, want a PNG data URL", src)
		}
		code, err := totp.GenerateCode(b.text(tid("totp-secret")), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b.do(
			chromedp.SendKeys(chromedp.CSS(tid("totp-code")), code),
			chromedp.Click(chromedp.CSS(tid("totp-verify-form")+` button[type="submit"]`)),
		)
		b.waitText(tid("totp-status"), "TOTP: enrolled")
		b.do(chromedp.Click(chromedp.CSS(tid("recovery-generate"))))
		b.waitVisible(tid("recovery-codes"))
		b.waitText(tid("recovery-left"), "10 unused recovery codes.")
		if n := b.count(tid("recovery-codes") + " li"); n != 10 {
			t.Fatalf("%d recovery codes shown, want 10", n)
		}
		if u := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); !u.TOTPEnabled || u.RecoveryCodesLeft != 10 {
			t.Fatalf("ada after enrolment = %v, want TOTP enabled and 10 recovery codes", u)
		}
		b.waitText(tid("sso-bound"), "not bound")
		b.shot("user-detail")

		b.open("#/users")
		b.waitText(tid("users-table"), "vpn (pin)")
		b.shot("users")
	}

	var attempt string
	// An app attempt appears in the audit trail with its timeline.
	{
		body := req{"system": "mail", "authid": "ada"}
		attempt = h.Start("mail", "ada")
		msg := h.waitAttemptMessage(attempt)
		if res := h.Page(http.MethodPost, msg.Link); res.Status != http.StatusOK {
			t.Fatalf("confirming ada's link = %d %s", res.Status, res.Body)
		}
		h.Expect("/v1/check", body, http.StatusOK, "authenticated")

		b.open("#/audit")
		b.waitVisible(tid("audit-filters"))
		b.do(
			chromedp.SendKeys(chromedp.CSS(tid("audit-authid")), "ada"),
			chromedp.SetValue(chromedp.CSS(tid("audit-system")), "mail"),
			chromedp.Click(chromedp.CSS(tid("audit-apply"))),
		)
		b.waitText(tid("audit-summary"), "4 events · user ada · system mail")
		b.waitText(tid("audit-table"), "attempt.authenticated")
		if rows := b.count(tid("audit-table") + " tbody tr"); rows != 4 {
			t.Fatalf("ada's events on mail = %d rows, want 4 (started, decision, delivered, authenticated)", rows)
		}
		href := b.attr(tid("audit-export"), "href")
		if !strings.Contains(href, "format=csv") || !strings.Contains(href, "authid=ada") || !strings.Contains(href, "system=mail") {
			t.Fatalf("audit export link %q does not carry the filters", href)
		}
		b.shot("audit")

		b.do(chromedp.Click(chromedp.CSS(tid("timeline-link"))))
		b.waitVisible(tid("timeline"))
		steps := b.evalStrings(`[...document.querySelectorAll('[data-testid="timeline-step"]')].map((e) => e.dataset.type)`)
		want := []string{"attempt.started", "policy.decision", "challenge.delivered", "attempt.authenticated"}
		if !slices.Equal(steps, want) {
			t.Fatalf("timeline = %v, want %v (oldest first)", steps, want)
		}
		b.waitText(tid("timeline"), "sensitivity medium")
		if loc := b.location(); !strings.HasSuffix(loc, "#/audit/"+attempt) {
			t.Fatalf("timeline page is %s, want the attempt %s", loc, attempt)
		}
		b.shot("timeline")
	}

	// Create and revoke an API key.
	{
		b.open("#/keys")
		b.waitVisible(tid("keys-table"))
		b.do(
			chromedp.SendKeys(chromedp.CSS(tid("key-name")), "shop"),
			chromedp.SetValue(chromedp.CSS(tid("key-scope")), "app"),
			chromedp.Click(chromedp.CSS(tid("key-create"))),
		)
		b.waitVisible(tid("key-secret"))
		key := b.text(tid("key-secret"))
		if !strings.HasPrefix(key, "fa_app_") {
			t.Fatalf("shown key %q is not an app key", key)
		}
		b.waitText(tid("keys-table"), "shop")
		b.shot("keys")
		check := req{"system": "mail", "authid": "ada"}
		if res := h.Do(http.MethodPost, "/v1/check", key, check); res.Status != http.StatusOK {
			t.Fatalf("check with the new key = %d %s, want 200", res.Status, res.Body)
		}

		b.do(chromedp.Click(chromedp.CSS(tid("revoke-shop"))))
		b.waitVisible(tid("confirm-dialog"))
		b.waitText(tid("confirm-dialog"), `Revoke key “shop”?`)
		// The dialog opens on Cancel, the safe choice.
		if focused := b.evalString(`document.activeElement.dataset.testid || ''`); focused != "confirm-cancel" {
			t.Fatalf("focus in the confirmation dialog is on %q, want confirm-cancel", focused)
		}
		b.shot("keys-confirm-revoke")
		b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
		b.waitText(tid("status"), "Key shop revoked.")
		b.waitText(tid("keys-table"), "revoked")
		if res := h.Do(http.MethodPost, "/v1/check", key, check); res.Status != http.StatusForbidden {
			t.Fatalf("check with the revoked key = %d %s, want 403 at once", res.Status, res.Body)
		}
	}

	// A broken policy is refused with its line number.
	{
		before := apitest.AdminAs[apitest.Policy](h.Client, http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)
		b.open("#/policy")
		b.waitVisible(tid("policy-form"))
		broken := "package flexauth.risk\n\ndecision := {\n\t\"allow\": true,\n\t\"method\": \"pin\"\n\t\"ttl_seconds\": 60,\n}\n"
		b.do(
			chromedp.SetValue(chromedp.CSS(tid("policy-rego")), broken),
			chromedp.SetValue(chromedp.CSS(tid("policy-tests")), "package flexauth.risk_test\n\ntest_allows if data.flexauth.risk.decision.allow\n"),
			chromedp.Click(chromedp.CSS(tid("policy-upload"))),
		)
		b.waitText(tid("policy-refused"), "Policy refused")
		b.waitText(tid("policy-problems"), "line 6")
		// What would the policy decide: nothing recorded, the reasons shown.
		b.do(
			chromedp.SendKeys(chromedp.CSS(tid("evaluate-authid")), "ada"),
			chromedp.SetValue(chromedp.CSS(tid("evaluate-system")), "vpn"),
			chromedp.Click(chromedp.CSS(tid("evaluate-submit"))),
		)
		b.waitText(tid("decision"), "Allowed with pin")
		b.waitText(tid("decision"), "no step-up: totp not enabled on system vpn")
		b.shot("policy")
		after := apitest.AdminAs[apitest.Policy](h.Client, http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)
		if fmt.Sprint(after.Active) != fmt.Sprint(before.Active) || len(after.Versions) != len(before.Versions) {
			t.Fatalf("a refused policy changed the policies: before %v, after %v", before, after)
		}
	}

	// Export users and import them back.
	{
		b.open("#/import")
		b.waitVisible(tid("import-form"))
		exported := b.download(tid("export-csv"))
		rows, err := csv.NewReader(bytes.NewReader(exported)).ReadAll()
		if err != nil {
			t.Fatalf("exported CSV: %v\n%s", err, exported)
		}
		if !strings.Contains(string(exported), "vpn:pin") || len(rows) != 3 {
			t.Fatalf("exported CSV =\n%s\nwant a header, admin and ada with vpn:pin", exported)
		}

		// The file as exported changes nothing.
		same := filepath.Join(t.TempDir(), "users.csv")
		writeFile(t, same, exported)
		b.do(
			chromedp.SetUploadFiles(chromedp.CSS(tid("import-file")), []string{same}),
			chromedp.Click(chromedp.CSS(tid("import-preview-button"))),
		)
		b.waitText(tid("import-summary"), "0 to create, 0 to update, 2 unchanged, 0 with errors.")
		if !b.evalBool(`document.querySelector('[data-testid="import-apply"]').disabled`) {
			t.Fatal("apply is offered for a file that changes nothing")
		}

		// An edited file: ada's name changes; preview, then apply.
		for _, r := range rows[1:] {
			if r[0] == "ada" {
				r[1] = "Ada King"
			}
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		edited := filepath.Join(t.TempDir(), "users-edited.csv")
		writeFile(t, edited, buf.Bytes())
		b.do(
			chromedp.SetUploadFiles(chromedp.CSS(tid("import-file")), []string{edited}),
			chromedp.Click(chromedp.CSS(tid("import-preview-button"))),
		)
		b.waitText(tid("import-summary"), "0 to create, 1 to update, 1 unchanged, 0 with errors.")
		b.waitText(tid("import-rows"), "name")
		if u := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); u.Name != "Ada Lovelace" {
			t.Fatalf("the preview changed ada: %v", u)
		}
		b.shot("import-preview")
		b.do(chromedp.Click(chromedp.CSS(tid("import-apply"))))
		b.waitText(tid("import-summary"), "Every row was applied.")
		if u := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); u.Name != "Ada King" {
			t.Fatalf("ada after the import = %v, want the name Ada King", u)
		}
	}

	// Sign out.
	{
		b.do(chromedp.Click(chromedp.CSS(tid("sign-out"))))
		b.waitVisible(tid("signin-form"))
		// Signed out, a page of the console asks to sign in again.
		b.do(chromedp.Evaluate[chromedp.Void](`location.hash = '#/users'`))
		b.waitReady("#/signin")
		if res := b.evalInt(`fetch('/v1/admin/users').then((r) => r.status)`); res != http.StatusUnauthorized {
			t.Fatalf("admin API after signing out = %d, want 401", res)
		}
	}
	b.assertNoScriptErrors()
}

// TestConsoleAtPhoneWidth checks the console is usable 390 px wide: the
// navigation folds into a menu, tables become cards, nothing scrolls
// sideways, not even with long names, user IDs and badges in the audit
// trail, the API keys and the systems.
func TestConsoleAtPhoneWidth(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Setup("vpn", []string{"pin", "passwordless"}, "high", "grace", "pin")
	// Long content, without spaces to break at.
	longID := "grace.hopper-" + strings.Repeat("x", 60) + "@subsidiary.example.com"
	longKey := "production-" + strings.Repeat("webshop", 12)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": longID, "email": "long@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/keys", req{"name": longKey, "scope": "app"}, http.StatusCreated)
	revoked := apitest.AdminAs[apitest.APIKey](h.Client, http.MethodPost, "/v1/admin/keys", req{"name": "old-" + longKey, "scope": "app"}, http.StatusCreated)
	h.Admin(http.MethodDelete, "/v1/admin/keys/"+revoked.ID, nil, http.StatusNoContent)
	h.Admin(http.MethodPost, "/v1/admin/users/grace/totp", nil, http.StatusOK) // a long event title
	b := newBrowser(t, h, "phone", 390, 844)
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))

	b.signIn()
	b.waitVisible(tid("dash-chart"))
	b.assertNoSidewaysScroll()
	b.shot("dashboard")

	b.open("#/users")
	b.waitText(tid("users-table"), "grace")
	if d := b.evalString(`getComputedStyle(document.querySelector('[data-testid="users-table"] thead')).display`); d != "none" {
		t.Fatalf("users table header display = %q at phone width, want the rows shown as cards", d)
	}
	b.assertNoSidewaysScroll()
	if b.evalBool(`document.getElementById('nav').checkVisibility()`) {
		t.Fatal("the navigation is unfolded at phone width before the menu is opened")
	}
	b.do(chromedp.Click(chromedp.CSS("#nav-toggle")))
	b.waitVisible(`#nav a[href="#/audit"]`)
	b.shot("users-menu")
	b.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/audit"]`)))
	b.waitReady("#/audit")
	if b.evalBool(`document.getElementById('nav').checkVisibility()`) {
		t.Fatal("the menu stayed open after choosing a page")
	}
	b.waitText(tid("audit-table"), longID)
	b.waitText(tid("audit-table"), "Authenticator enrolment started")
	b.assertNoSidewaysScroll()
	b.shot("audit")

	b.open("#/keys")
	b.waitText(tid("keys-table"), longKey)
	b.waitText(tid("keys-table"), "revoked")
	b.assertNoSidewaysScroll()
	b.shot("keys")

	b.open("#/systems")
	b.waitText(tid("effective-vpn"), "locks after 3 wrong codes")
	b.assertNoSidewaysScroll()
	b.shot("systems")
	b.assertNoScriptErrors()
}

// setupConsoleAdmin gives the harness's account what `flexauth dev`
// creates: the console system and an administrator assigned to it.
func setupConsoleAdmin(h *harness) {
	h.t.Helper()
	h.Setup("console", []string{"passwordless", "pin", "totp"}, "medium", "admin", "passwordless")
}

// consoleBrowser is one headless Chromium tab on the console.
type consoleBrowser struct {
	t   *testing.T
	h   *harness
	ctx context.Context
	// shots is where screenshots go; prefix (laptop, phone) starts their
	// names.
	shots, prefix string
	downloads     string

	mu     sync.Mutex
	errors []string // uncaught exceptions and console errors
}

// newBrowser starts Chromium for one test. A missing Chromium fails the
// test: the console is not tested otherwise.
func newBrowser(t *testing.T, h *harness, name string, width, height int) *consoleBrowser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the console tests need Chromium at %s (install it: apt-get install chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // tests run as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// Start the browser with no deadline (the first run binds its life to
	// the context), then bound everything else.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(cancelTimeout)

	b := &consoleBrowser{t: t, h: h, ctx: ctx, shots: artifactsDir(t), prefix: name, downloads: t.TempDir()}
	if err := chromedp.Listen(ctx, b.recordError); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: b.downloads, EventsEnabled: new(true),
		})
		return err
	}))
	return b
}

// recordError keeps the page's script errors; it runs in the tab's event
// loop, so it only records.
func (b *consoleBrowser) recordError(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil && ev.ExceptionDetails.Exception.Description != "" {
			msg = ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		msg = "console.error: " + strings.Join(parts, " ")
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, msg)
}

func (b *consoleBrowser) assertNoScriptErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		b.t.Fatalf("the console raised script errors:\n%s", strings.Join(b.errors, "\n"))
	}
}

// signIn signs the administrator in as a person would in dev: account and
// user ID, then the link from the dev outbox panel, opened in a new tab of
// the same browser and confirmed there (which signs this browser in),
// while the console's tab polls, finds the session and lands on the
// dashboard.
func (b *consoleBrowser) signIn() {
	b.t.Helper()
	b.do(chromedp.Navigate(b.h.URL + "/console/"))
	b.waitVisible(tid("signin-form"))
	b.do(
		chromedp.SendKeys(chromedp.CSS(tid("signin-account")), "acme"),
		chromedp.SendKeys(chromedp.CSS(tid("signin-authid")), "admin"),
		chromedp.Click(chromedp.CSS(tid("signin-submit"))),
	)
	b.waitText(tid("signin-sent"), "If admin is an administrator of acme, a sign-in link or code is on its way.")
	b.waitVisible(tid("signin-code"))
	b.waitText(tid("dev-outbox"), "admin@example.com")
	b.waitVisible(tid("outbox-link"))
	b.shot("signin")

	opened := chromedp.WaitNewTarget(b.ctx, func(i *target.Info) bool { return strings.Contains(i.URL, "/l/") })
	b.do(chromedp.Click(chromedp.CSS(tid("outbox-link"))))
	var id target.ID
	select {
	case id = <-opened:
	case <-time.After(waitTimeout):
		b.t.Fatal("clicking the outbox link opened no tab")
	}
	tab, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
	defer cancel()
	if err := chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS(`form button[type="submit"]`))); err != nil {
		b.t.Fatalf("open the sign-in link: %v", err)
	}
	// The page says who asked: this browser, from this machine.
	b.waitFor(tab, `document.getElementById('request-browser').innerText === 'Chrome on Linux' && document.getElementById('request-ip').innerText === '127.0.0.1' && document.body.innerText.includes('signs you in to the console in this browser')`,
		"the link page to say who asked")
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); err != nil {
		b.t.Fatalf("confirm the sign-in link: %v", err)
	}
	b.waitFor(tab, `document.body && document.body.innerText.includes('You are signed in to the console') && Boolean(document.querySelector('a[href="/console/"]'))`, "the link page to confirm the sign-in")

	b.waitReady("#/dashboard")
	b.waitText(tid("who"), "admin")
}

// open goes to a console route, as the navigation does, and waits until
// its page has loaded.
func (b *consoleBrowser) open(route string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, route)))
	b.waitReady(route)
}

// waitReady waits until the console has finished rendering route.
func (b *consoleBrowser) waitReady(route string) {
	b.t.Helper()
	b.waitFor(b.ctx, fmt.Sprintf(`(() => { const v = document.querySelector('#main > .view'); return Boolean(v && v.dataset.ready === %q); })()`, route),
		"the page "+route+" to load")
}

func (b *consoleBrowser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *consoleBrowser) waitVisible(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("wait for %s to show: %v\npage: %s", sel, err, b.pageText())
	}
}

// waitText waits until the element sel shows text containing want.
func (b *consoleBrowser) waitText(sel, want string) {
	b.t.Helper()
	b.waitFor(b.ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return Boolean(e && e.innerText.includes(%q)); })()`, sel, want),
		fmt.Sprintf("%s to show %q", sel, want))
}

// waitFor waits until the JavaScript expression is true in tab. A poll
// interrupted by a navigation is started again.
func (b *consoleBrowser) waitFor(tab context.Context, expr, what string) {
	b.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx, cancel := context.WithDeadline(tab, deadline)
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.t.Fatalf("wait for %s: %v\nstate: %s\npage: %s", what, err, b.pageState(), b.pageText())
		}
	}
}

func (b *consoleBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *consoleBrowser) attr(sel, name string) string {
	b.t.Helper()
	return b.evalString(fmt.Sprintf(`document.querySelector(%q).getAttribute(%q) || ''`, sel, name))
}

func (b *consoleBrowser) count(sel string) int {
	b.t.Helper()
	return b.evalInt(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// evalInt evaluates expr, awaiting it when it is a promise.
func (b *consoleBrowser) evalInt(expr string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return n
}

func (b *consoleBrowser) location() string {
	b.t.Helper()
	return b.evalString(`location.href`)
}

func (b *consoleBrowser) evalString(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

func (b *consoleBrowser) evalStrings(expr string) []string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

func (b *consoleBrowser) evalBool(expr string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// pageText is the visible text of the page, for failure messages.
func (b *consoleBrowser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// pageState describes what a failed wait cannot show in the page's text:
// the route, the focused element, the open dialogs and the notices.
func (b *consoleBrowser) pageState() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		hash: location.hash,
		focused: document.activeElement ? (document.activeElement.dataset.testid || document.activeElement.id || document.activeElement.tagName) : null,
		dialogs: [...document.querySelectorAll('dialog[open]')].map((d) => d.id),
		status: (document.getElementById('status') || {}).innerText,
		error: (document.getElementById('error') || {}).innerText,
		ready: (document.querySelector('#main .view') || { dataset: {} }).dataset.ready || null,
	})`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// assertNoSidewaysScroll fails when the page, or a table's wrapper (which
// would scroll on its own), is wider than the screen shows.
func (b *consoleBrowser) assertNoSidewaysScroll() {
	b.t.Helper()
	if !b.evalBool(`document.documentElement.scrollWidth <= document.documentElement.clientWidth`) {
		b.t.Fatalf("the page scrolls sideways at phone width: %s", b.evalString(`document.documentElement.scrollWidth + ' px wide in ' + document.documentElement.clientWidth`))
	}
	wide := b.evalStrings(`[...document.querySelectorAll('#main .table-wrap, #main .card, #main')]
		.filter((e) => e.scrollWidth > e.clientWidth + 1)
		.map((e) => (e.querySelector('[data-testid]') || e).dataset.testid + ': ' + e.scrollWidth + ' px wide in ' + e.clientWidth)`)
	if len(wide) > 0 {
		b.t.Fatalf("parts of the page scroll sideways at phone width:\n%s", strings.Join(wide, "\n"))
	}
}

// download clicks a download link and returns the file it saved.
func (b *consoleBrowser) download(sel string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	b.do(chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("download from %s: %v", sel, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			raw, err := os.ReadFile(filepath.Join(b.downloads, ev.GUID))
			if err != nil {
				b.t.Fatal(err)
			}
			return raw
		case browser.DownloadProgressStateCanceled:
			b.t.Fatalf("the download from %s was cancelled", sel)
		}
	}
	b.t.Fatalf("no download from %s", sel)
	return nil
}

// shot saves a full-page PNG of what the browser shows.
func (b *consoleBrowser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(b.shots, b.prefix+"-"+name+".png")
	writeFile(b.t, file, png)
	b.t.Logf("screenshot %s", file)
}

// artifactsDir is where screenshots go: $FLEXAUTH_ARTIFACTS, or
// artifacts/screenshots at the repository's root.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FLEXAUTH_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create the screenshots folder: %v", err)
	}
	return dir
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tid is the CSS selector of a data-testid.
func tid(id string) string { return fmt.Sprintf(`[data-testid=%q]`, id) }
