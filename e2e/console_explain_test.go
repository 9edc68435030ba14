package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/internal/apitest"
)

// What a new administrator stumbled on when walking the console: the
// console system looked like any other, validities the policy then capped,
// a dashboard counting the administrators' own sign-ins unsaid, dotted
// event types, a policy editor without line numbers, recovery codes
// offered before an authenticator and without a way to keep them.

const consoleAccess = "console access — makes the user an administrator"

// TestConsoleMarksTheConsoleAndExplainsLimits: the console system is
// marked wherever it appears and edits that could keep administrators out
// are explained before they are sent; systems show what the active policy
// gives them, and the form what each sensitivity changes; the dashboard
// says what it counts and filters by system on the server; the audit list
// shows plain titles with the raw types beside them.
func TestConsoleMarksTheConsoleAndExplainsLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Setup("vpn", []string{"pin", "passwordless"}, "high", "ada", "pin")
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki", "methods": []string{"passwordless"}, "sensitivity": "medium", "ttl_seconds": 900}, http.StatusCreated)
	b := newBrowser(t, h, "explain", 1280, 800)
	b.signIn()

	// The dashboard says what it counts, and counts what it is asked to.
	{
		b.waitText(tid("dash-scope"), "on every system, administrators’ own sign-ins to this console included")
		b.waitText(tid("tile-started"), "1")
		h.Start("vpn", "ada") // an application's attempt, beside the administrator's sign-in
		b.choose(tid("dash-system"), "")
		b.waitText(tid("tile-started"), "2")
		b.choose(tid("dash-system"), "!console")
		b.waitText(tid("dash-scope"), "on every system but console: administrators’ sign-ins to this console are not counted")
		if got := b.text(tid("tile-started") + " .tile-value"); got != "1" {
			t.Fatalf("attempts started on every system but the console = %s, want 1 (ada's)", got)
		}
		b.choose(tid("dash-system"), "console")
		b.waitText(tid("dash-scope"), "on system console alone: administrators signing in to this console")
		if got := b.text(tid("tile-started") + " .tile-value"); got != "1" {
			t.Fatalf("attempts started on the console = %s, want 1 (the administrator's sign-in)", got)
		}
		b.choose(tid("dash-system"), "vpn")
		b.waitText(tid("dash-scope"), "on system vpn alone")
		b.waitText(tid("recent-failures-empty"), "No failures recently")
		b.shot("dashboard-by-system")
	}

	// Systems: the console is marked and has no delete button; every
	// system shows the active policy's limits.
	{
		b.open("#/systems")
		b.waitText(tid("system-console"), consoleAccess)
		if n := b.count(tid("system-vpn") + " " + tid("console-mark")); n != 0 {
			t.Fatal("vpn is marked as console access")
		}
		if b.count(tid("delete-system-console")) != 0 || b.count(tid("delete-system-vpn")) != 1 {
			t.Fatal("the console system offers a delete button, or vpn none")
		}
		b.waitText(tid("console-not-deletable"), "Built in: cannot be deleted")
		// vpn asks for 5 minutes, but it is highly sensitive: the policy
		// gives 2, 3 wrong codes and its PIN by SMS.
		b.waitText(tid("effective-vpn"), "pin: valid 2 min (capped from 5 min) · locks after 3 wrong codes · sent by SMS")
		b.waitText(tid("effective-vpn"), "passwordless: valid 2 min (capped from 5 min) · sent by email")
		b.waitText(tid("effective-wiki"), "passwordless: valid 5 min (capped from 15 min) · sent by email")
		b.waitText(tid("effective-console"), "totp: valid 5 min · locks after 5 wrong codes · nothing sent: the authenticator app")
		b.waitText(tid("effective-assumed"), "active policy (version 0, built in) decides for a user assigned the method")
		b.shot("systems-effective")

		// Choosing a sensitivity says what each level changes, for the
		// methods and validity in the form.
		b.waitText(tid("system-form"), "how long a link or code lives, how many wrong codes lock the factor")
		b.do(chromedp.Click(chromedp.CSS(tid("system-methods") + ` input[value="pin"]`)))
		b.setInput(tid("system-ttl"), "900")
		b.waitText(tid("sensitivity-table"), "pin: valid 10 min (capped from 15 min) · locks after 5 wrong codes · sent by email")
		rows := b.evalStrings(`[...document.querySelectorAll('[data-testid="sensitivity-table"] tbody tr')].map((r) => r.innerText.replace(/\s+/g, ' '))`)
		if len(rows) != 3 || !strings.Contains(rows[0], "low") || !strings.Contains(rows[1], "medium") || !strings.Contains(rows[2], "high") ||
			!strings.Contains(rows[0], "pin: valid 10 min") || !strings.Contains(rows[1], "pin: valid 5 min") ||
			!strings.Contains(rows[2], "pin: valid 2 min (capped from 15 min) · locks after 3 wrong codes · sent by SMS") ||
			!strings.Contains(rows[1], "(chosen)") {
			t.Fatalf("sensitivity effects = %q, want low 10 min, medium 5 min (chosen), high 2 min with 3 codes by SMS", rows)
		}
		b.shot("systems-sensitivity")

		// Taking a method away from the console system is confirmed first,
		// naming what follows; cancelled, nothing changes.
		b.do(chromedp.Click(chromedp.CSS(tid("edit-system-console"))))
		b.waitText(tid("console-system-note"), consoleAccess)
		b.waitText(tid("console-system-note"), "The system cannot be deleted.")
		b.do(
			chromedp.Click(chromedp.CSS(tid("system-methods")+` input[value="pin"]`)),
			chromedp.Click(chromedp.CSS(tid("system-save"))),
		)
		b.waitVisible(tid("confirm-dialog"))
		b.waitText(tid("confirm-dialog"), "Remove pin from the console system?")
		b.waitText(tid("confirm-dialog"), "Administrators can no longer sign in to this console with pin")
		b.shot("systems-console-confirm")
		b.do(chromedp.Click(chromedp.CSS(tid("confirm-cancel"))))
		b.waitFor(b.ctx, `!document.getElementById('confirm-dialog').open`, "the confirmation to close")
		if got := apitest.AdminAs[apitest.System](h.Client, http.MethodGet, "/v1/admin/systems/console", nil, http.StatusOK); fmt.Sprint(got.Methods) != "[passwordless pin totp]" {
			t.Fatalf("console methods after cancelling = %v, want them unchanged", got.Methods)
		}
	}

	// Users: console access is marked in the list, on an administrator's
	// page and among the assignments; taking it away is confirmed.
	{
		b.open("#/users")
		b.waitText(tid("users-table"), consoleAccess)
		b.open("#/users/admin")
		b.waitText("#main .page-head", consoleAccess)
		b.do(chromedp.Click(chromedp.CSS(tid("user-toggle-status"))))
		b.waitVisible(tid("confirm-dialog"))
		b.waitText(tid("confirm-dialog"), "admin is a console administrator: this ends their console access — yours: you will be signed out")
		b.waitText(tid("confirm-dialog"), "refuses it when admin is the account’s last active administrator")
		b.do(chromedp.Click(chromedp.CSS(tid("confirm-cancel"))))
		b.waitFor(b.ctx, `!document.getElementById('confirm-dialog').open`, "the confirmation to close")

		b.open("#/users/ada")
		if b.count("#main .page-head "+tid("console-mark")) != 0 {
			t.Fatal("ada, no administrator, is marked as one")
		}
		b.waitText(tid("assign-form"), consoleAccess)
		b.do(
			chromedp.Click(chromedp.CSS(tid("assign-console"))),
			chromedp.Click(chromedp.CSS(tid("assign-save"))),
		)
		b.waitText(tid("status"), "Assignments saved: console (passwordless), vpn (pin).")
		b.do(
			chromedp.Click(chromedp.CSS(tid("assign-console"))),
			chromedp.Click(chromedp.CSS(tid("assign-save"))),
		)
		b.waitVisible(tid("confirm-dialog"))
		b.waitText(tid("confirm-dialog"), "Remove ada’s console access?")
		b.waitText(tid("confirm-dialog"), "ada will no longer be an administrator of this account")
		b.shot("user-console-confirm")
		b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
		b.waitText(tid("status"), "Assignments saved: vpn (pin).")
		if got := fmt.Sprint(apitest.AdminAs[apitest.Assignments](h.Client, http.MethodGet, "/v1/admin/users/ada/systems", nil, http.StatusOK)); strings.Contains(got, "console") {
			t.Fatalf("ada's systems after confirming = %s, want no console", got)
		}
	}

	// The audit list names events as the timeline does, keeping the raw
	// type beside the title, in the filter and in the export.
	{
		b.open("#/audit")
		b.waitVisible(tid("audit-table"))
		if got := b.evalString(`document.querySelector('[data-testid="audit-type"] option[value="code.rejected"]').textContent`); got != "Code rejected (code.rejected)" {
			t.Fatalf("the type filter offers code.rejected as %q", got)
		}
		b.do(
			chromedp.SetValue(chromedp.CSS(tid("audit-authid")), "ada"),
			chromedp.SetValue(chromedp.CSS(tid("audit-system")), "vpn"),
			chromedp.Click(chromedp.CSS(tid("audit-apply"))),
		)
		b.waitText(tid("audit-summary"), "user ada · system vpn")
		b.waitText(tid("audit-table"), "Attempt started")
		titles := b.evalStrings(`[...document.querySelectorAll('[data-testid="audit-table"] [data-testid="event-title"]')].map((e) => e.textContent + ' = ' + e.title)`)
		types := b.evalStrings(`[...document.querySelectorAll('[data-testid="audit-table"] [data-testid="event-type"]')].map((e) => e.textContent)`)
		for _, want := range []string{"Attempt started = attempt.started", "Policy decided = policy.decision", "Challenge delivered = challenge.delivered"} {
			if !slices.Contains(titles, want) {
				t.Fatalf("audit titles = %q, want %q among them", titles, want)
			}
		}
		if !slices.Contains(types, "policy.decision") || len(types) != len(titles) {
			t.Fatalf("raw types shown = %q beside titles %q", types, titles)
		}
		b.choose(tid("audit-type"), "policy.decision")
		b.do(chromedp.Click(chromedp.CSS(tid("audit-apply"))))
		b.waitText(tid("audit-summary"), "type Policy decided (policy.decision)")
		if href := b.attr(tid("audit-export"), "href"); !strings.Contains(href, "type=policy.decision") {
			t.Fatalf("audit export %q does not filter by the raw type", href)
		}
		b.shot("audit-titles")
	}
	b.assertNoScriptErrors()
}

// TestConsolePolicyEditorAndRecoveryCodes: the policy editor numbers its
// lines, marks and shows the line of a compile error and starts from the
// active policy; recovery codes wait for an authenticator, then can be
// copied and downloaded.
func TestConsolePolicyEditorAndRecoveryCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Setup("vpn", []string{"pin", "totp"}, "medium", "grace", "pin")
	b := newBrowser(t, h, "editor", 1280, 800)
	b.signIn()

	// Start from the active policy: the built-in one, line for line.
	{
		b.open("#/policy")
		b.waitVisible(tid("policy-form"))
		active := apitest.AdminAs[apitest.Policy](h.Client, http.MethodGet, "/v1/admin/policy", nil, http.StatusOK).Active
		rego, tests := active.Rego, active.Tests
		if b.evalString(`document.querySelector('[data-testid="policy-rego"]').value`) != "" {
			t.Fatal("the editor is not empty while the built-in policy is active")
		}
		b.do(chromedp.Click(chromedp.CSS(tid("policy-start-active"))))
		b.waitText(tid("status"), "The editors hold the active policy, version 0 (built-in default).")
		if got := b.evalString(`document.querySelector('[data-testid="policy-rego"]').value`); got != rego {
			t.Fatalf("after Start from the active policy the editor holds %d characters, want the active policy's %d", len(got), len(rego))
		}
		if got := b.evalString(`document.querySelector('[data-testid="policy-tests"]').value`); got != tests {
			t.Fatal("the tests editor does not hold the active policy's tests")
		}
		if n, want := b.count(tid("policy-rego-gutter")+" .ln"), strings.Count(rego, "\n")+1; n != want {
			t.Fatalf("the gutter numbers %d lines, the policy has %d", n, want)
		}
	}

	// A compile error: its line is marked in the gutter, and "Show line"
	// puts the caret there and scrolls the editor and its gutter to it.
	{
		var src strings.Builder
		src.WriteString("package flexauth.risk\n")
		for i := 2; i < 60; i++ {
			fmt.Fprintf(&src, "# filler line %d\n", i)
		}
		src.WriteString("decision := {\"allow\": true,, \"method\": \"pin\"}\n") // line 60
		for i := 61; i <= 80; i++ {
			fmt.Fprintf(&src, "# more %d\n", i)
		}
		b.setInput(tid("policy-rego"), src.String())
		b.do(chromedp.Click(chromedp.CSS(tid("policy-upload"))))
		b.waitText(tid("policy-problems"), "policy.rego, line 60")
		b.waitFor(b.ctx, `document.querySelector('[data-testid="policy-rego-gutter"] .ln[data-line="60"]').classList.contains('ln-error')`,
			"line 60 to be marked in the gutter")
		if n := b.count(tid("policy-rego-gutter") + " .ln-error"); n != 1 {
			t.Fatalf("%d lines marked, want only line 60", n)
		}
		if n := b.count(tid("policy-rego-gutter") + " .ln"); n != 81 {
			t.Fatalf("the gutter numbers %d lines, want 81", n)
		}
		b.do(chromedp.Click(chromedp.CSS(tid("policy-goto"))))
		b.waitFor(b.ctx, `document.activeElement && document.activeElement.dataset.testid === 'policy-rego'`, "the editor to take the focus")
		line := b.evalInt(`(() => { const t = document.querySelector('[data-testid="policy-rego"]'); return t.value.slice(0, t.selectionStart).split('\n').length; })()`)
		if line != 60 {
			t.Fatalf("the caret is on line %d, want 60", line)
		}
		b.waitFor(b.ctx, `(() => {
			const t = document.querySelector('[data-testid="policy-rego"]');
			const g = document.querySelector('[data-testid="policy-rego-gutter"]');
			const ln = g.querySelector('.ln[data-line="60"]');
			const top = ln.offsetTop - g.scrollTop;
			return t.scrollTop > 0 && g.scrollTop === t.scrollTop && top >= 0 && top < g.clientHeight;
		})()`, "the editor and its gutter to scroll to line 60 together")
		// Scrolling the text by hand scrolls the numbers with it.
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="policy-rego"]').scrollTop = 40`))
		b.waitFor(b.ctx, `document.querySelector('[data-testid="policy-rego-gutter"]').scrollTop === 40`, "the gutter to follow the editor's scroll")
		b.shot("policy-editor-error")
	}

	// Recovery codes wait for an authenticator; then they can be copied
	// and downloaded.
	{
		b.open("#/users/grace")
		b.waitText(tid("recovery-reason"), "Enrol an authenticator app first")
		if !b.evalBool(`document.querySelector('[data-testid="recovery-generate"]').disabled`) {
			t.Fatal("Generate recovery codes is offered before an authenticator is enrolled")
		}
		if got := b.attr(tid("recovery-generate"), "aria-describedby"); got != "recovery-reason" {
			t.Fatalf("the disabled button is described by %q, want the reason", got)
		}
		b.do(chromedp.Click(chromedp.CSS(tid("totp-enrol"))))
		b.waitVisible(tid("totp-secret"))
		code, err := totp.GenerateCode(b.text(tid("totp-secret")), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b.do(
			chromedp.SendKeys(chromedp.CSS(tid("totp-code")), code),
			chromedp.Click(chromedp.CSS(tid("totp-verify-form")+` button[type="submit"]`)),
		)
		b.waitText(tid("totp-status"), "TOTP: enrolled")
		if b.count(tid("recovery-reason")) != 0 || b.evalBool(`document.querySelector('[data-testid="recovery-generate"]').disabled`) {
			t.Fatal("recovery codes are still withheld after enrolment")
		}
		b.do(chromedp.Click(chromedp.CSS(tid("recovery-generate"))))
		b.waitVisible(tid("recovery-codes"))
		codes := b.evalStrings(`[...document.querySelectorAll('[data-testid="recovery-codes"] li')].map((e) => e.textContent)`)
		if len(codes) != 10 {
			t.Fatalf("recovery codes shown = %q, want 10", codes)
		}

		file := b.download(tid("recovery-download"))
		for _, c := range codes {
			if !bytes.Contains(file, []byte(c+"\n")) {
				t.Fatalf("the downloaded file lacks code %s:\n%s", c, file)
			}
		}
		if !bytes.Contains(file, []byte("recovery codes of grace")) {
			t.Fatalf("the downloaded file does not say whose codes they are:\n%s", file)
		}

		origin := h.URL
		if _, err := chromedp.CallBrowser(b.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "clipboard-read"}, Setting: browser.PermissionSettingGranted, Origin: origin,
		}); err != nil {
			t.Fatalf("grant clipboard access: %v", err)
		}
		b.do(chromedp.Click(chromedp.CSS(tid("recovery-copy"))))
		b.waitText(tid("status"), "Recovery codes copied to the clipboard.")
		if got := b.evalAwaitString(`navigator.clipboard.readText()`); got != strings.Join(codes, "\n")+"\n" {
			t.Fatalf("the clipboard holds %q, want the 10 codes, one a line", got)
		}
		b.shot("recovery-codes")
	}
	b.assertNoScriptErrors()
}

// choose picks value in the select sel, as a person would (a change
// event follows).
func (b *consoleBrowser) choose(sel, value string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change', { bubbles: true })); })()`, sel, value)))
}

// setInput replaces what the field sel holds with value, as typing would
// (input and change events follow).
func (b *consoleBrowser) setInput(sel, value string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %s; e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); })()`, sel, jsString(value))))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, `"`, `\"`, "\u2028", `\u2028`, "\u2029", `\u2029`)
	return `"` + r.Replace(s) + `"`
}
