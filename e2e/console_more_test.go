package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp/totp"
	"github.com/xuri/excelize/v2"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/store"
)

// More of the console in the browser: signing in with a code (PIN, TOTP, a
// recovery code), the fresh sign-in dialog, keyboard use of the
// confirmation dialog, policy rollback and the XLSX round trip. Each step
// checks what the page shows and what the server holds.

// TestConsoleSignInWithCodes signs in with a PIN from the dev outbox (a
// wrong code first), then with TOTP, then with a recovery code.
func TestConsoleSignInWithCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	h.Setup("console", []string{"passwordless", "pin", "totp"}, "medium", "admin", "pin")
	b := newBrowser(t, h, "codes", 1280, 800)

	// An unknown user sees the very screen an administrator sees, and
	// polling it changes nothing.
	b.do(chromedp.Navigate(h.URL + "/console/"))
	var unknown string
	{
		b.startSignIn("nobody")
		b.waitText(tid("signin-sent"), "If nobody is an administrator of acme, a sign-in link or code is on its way.")
		time.Sleep(2500 * time.Millisecond) // a poll of the check
		unknown = b.text(tid("signin-sent"))
		if b.count(tid("signin-code")) != 1 || b.evalString(fmt.Sprintf(`document.querySelector(%q).innerText`, tid("signin-error"))) != "" {
			t.Fatalf("the unknown user's screen changed after a poll:\n%s", unknown)
		}
		b.shot("signin-unknown-user")
		b.do(chromedp.Click(chromedp.CSS(tid("signin-restart"))))
	}

	// PIN: a wrong code is refused and the same attempt takes the right one.
	{
		b.startSignIn("admin")
		b.waitText(tid("signin-sent"), "If admin is an administrator of acme, a sign-in link or code is on its way.")
		if admin := b.text(tid("signin-sent")); admin != strings.ReplaceAll(unknown, "nobody", "admin") {
			t.Fatalf("the administrator's screen:\n%s\ndiffers from the unknown user's:\n%s", admin, unknown)
		}
		b.waitVisible(tid("outbox-code"))
		// A PIN message has a code and no link: none is offered.
		if n := b.count(tid("dev-outbox") + " " + tid("outbox-link")); n != 0 {
			t.Fatalf("the dev outbox offers %d sign-in links for a PIN message, want none", n)
		}
		code := b.text(tid("outbox-code"))
		if sent := h.waitMessage("admin@example.com", 1).Code; code != sent || sent == "" {
			t.Fatalf("the dev outbox shows the code %q, the outbox file holds %q", code, sent)
		}
		b.shot("signin-pin")

		wrong := []byte(code)
		wrong[len(wrong)-1] = '0' + (wrong[len(wrong)-1]-'0'+1)%10
		b.enterCode(string(wrong))
		b.waitText(tid("signin-error"), "That code was not accepted. Check it and try again.")
		if b.count(tid("signin-code-form")) != 1 {
			t.Fatal("after a wrong code the code form is gone: the sign-in cannot be finished")
		}
		if got := b.evalAwaitString(`fetch('/v1/admin/session').then((r) => String(r.status))`); got != "401" {
			t.Fatalf("GET /v1/admin/session after a wrong code = %s, want 401 (not signed in)", got)
		}
		b.shot("signin-pin-wrong")

		b.enterCode(code)
		b.waitReady("#/dashboard")
		b.waitText(tid("who"), "admin")
		if got := b.evalAwaitString(`fetch('/v1/admin/session').then((r) => r.json()).then((s) => s.authid)`); got != "admin" {
			t.Fatalf("session after the PIN sign-in is of %q, want admin", got)
		}
		types := h.AuditTypes("authid=admin&system=console")
		if !slices.Contains(types, "code.rejected") || !slices.Contains(types, "attempt.authenticated") {
			t.Fatalf("console events of admin = %v, want the wrong code and the sign-in", types)
		}
		b.signOut()
	}

	// TOTP, enrolled through the admin API.
	clock := enrolTOTP(h, "admin")
	h.Admin(http.MethodPut, "/v1/admin/users/admin/systems", req{"assignments": []req{{"system": "console", "method": "totp"}}}, http.StatusOK)
	{
		b.startSignIn("admin")
		b.waitText(tid("signin-sent"), "a sign-in link or code is on its way")
		b.shot("signin-totp")
		b.enterCode(clock.code())
		b.waitReady("#/dashboard")
		b.waitText(tid("who"), "admin")
		b.signOut()
	}

	// A recovery code in place of the TOTP code, typed loosely (lower
	// case): it works once.
	{
		out := apitest.AdminAs[apitest.RecoveryCodes](h.Client, http.MethodPost, "/v1/admin/users/admin/recovery-codes", nil, http.StatusOK)
		codes := out.Codes
		if len(codes) != 10 {
			t.Fatalf("recovery codes = %v, want 10", out)
		}
		recovery := codes[3]
		b.startSignIn("admin")
		b.waitText(tid("signin-sent"), "a sign-in link or code is on its way")
		b.enterCode(strings.ToLower(recovery))
		b.waitReady("#/dashboard")
		b.waitText(tid("who"), "admin")
		if u := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/admin", nil, http.StatusOK); u.RecoveryCodesLeft != 9 {
			t.Fatalf("admin after signing in with a recovery code = %v, want 9 codes left", u)
		}
		b.signOut()

		// Used once, the same code is refused; the form stays for another.
		b.startSignIn("admin")
		b.waitText(tid("signin-sent"), "a sign-in link or code is on its way")
		b.enterCode(recovery)
		b.waitText(tid("signin-error"), "That code was not accepted.")
		if u := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/admin", nil, http.StatusOK); u.RecoveryCodesLeft != 9 {
			t.Fatalf("a used recovery code changed the count: %v", u)
		}
	}
	b.assertNoScriptErrors()
}

// TestConsoleFreshSignInKeyboardAndPolicy lets the session grow stale
// (the API's clock moves 11 minutes on), creates a key, signs in again in
// the dialog that opens and sees the key created; then works the
// confirmation dialog with the keyboard alone; then uploads a policy and
// rolls back to the built-in one.
func TestConsoleFreshSignInKeyboardAndPolicy(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	h := newHarness(t, withDevOutbox(), withClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }))
	// A TOTP administrator: a TOTP attempt may last an hour on a low
	// sensitivity system, so it outlives the clock's jump (a delivered
	// link or PIN lasts 10 minutes at most, less than the jump).
	h.Setup("console", []string{"passwordless", "pin", "totp"}, "low", "admin", "passwordless")
	h.Admin(http.MethodPatch, "/v1/admin/systems/console", req{"ttl_seconds": 3600}, http.StatusOK)
	clock := enrolTOTP(h, "admin")
	h.Admin(http.MethodPut, "/v1/admin/users/admin/systems", req{"assignments": []req{{"system": "console", "method": "totp"}}}, http.StatusOK)
	b := newBrowser(t, h, "fresh", 1280, 800)

	b.do(chromedp.Navigate(h.URL + "/console/"))
	b.startSignIn("admin")
	b.enterCode(clock.code())
	b.waitReady("#/dashboard")

	// The re-sign-in dialog, and the action completing after it.
	{
		skew.Store(int64(11 * time.Minute))
		if got := b.evalAwaitString(`fetch('/v1/admin/session').then((r) => r.json()).then((s) => String(s.fresh))`); got != "false" {
			t.Fatalf("session fresh = %s 11 minutes after signing in, want false", got)
		}
		b.open("#/keys")
		b.waitVisible(tid("key-form"))
		b.do(
			chromedp.SendKeys(chromedp.CSS(tid("key-name")), "after-break"),
			chromedp.Click(chromedp.CSS(tid("key-create"))),
		)
		dialog := tid("reauth-dialog") + " "
		b.waitVisible(tid("reauth-dialog"))
		b.waitText(tid("reauth-dialog"), "This change needs a fresh sign-in")
		if n := len(activeKeys(h, "after-break")); n != 0 {
			t.Fatalf("%d keys after-break exist before the fresh sign-in, want none", n)
		}
		if acc, who := b.evalString(`document.querySelector('#reauth-dialog [data-testid="signin-account"]').value`),
			b.evalString(`document.querySelector('#reauth-dialog [data-testid="signin-authid"]').value`); acc != "acme" || who != "admin" {
			t.Fatalf("the dialog signs in %q/%q, want the signed-in acme/admin", acc, who)
		}
		b.shot("reauth-dialog")
		b.do(chromedp.Click(chromedp.CSS(dialog + tid("signin-submit"))))
		b.waitText(dialog+tid("signin-sent"), "If admin is an administrator of acme, a sign-in link or code is on its way.")
		b.do(
			chromedp.SendKeys(chromedp.CSS(dialog+tid("signin-code")), clock.code()),
			chromedp.Click(chromedp.CSS(dialog+tid("signin-verify"))),
		)
		b.waitFor(b.ctx, `!document.getElementById('reauth-dialog').open`, "the re-sign-in dialog to close")
		b.waitVisible(tid("key-secret"))
		if key := b.text(tid("key-secret")); !strings.HasPrefix(key, "fa_app_") {
			t.Fatalf("shown key %q is not an app key", key)
		}
		b.waitText(tid("keys-table"), "after-break")
		if n := len(activeKeys(h, "after-break")); n != 1 {
			t.Fatalf("%d keys after-break after the fresh sign-in, want exactly 1 (created once)", n)
		}
		if got := b.evalAwaitString(`fetch('/v1/admin/session').then((r) => r.json()).then((s) => String(s.fresh))`); got != "true" {
			t.Fatalf("session fresh = %s after signing in again, want true", got)
		}
		b.shot("reauth-done")
	}

	// The keyboard alone: Enter submits a form; the confirmation dialog
	// opens with Enter, Escape cancels it and focus returns to its button;
	// Tab and Enter confirm.
	{
		b.do(
			chromedp.Focus(chromedp.CSS(tid("key-name"))),
			chromedp.KeyEvent("keyboard"),
			chromedp.KeyEvent(kb.Enter),
		)
		b.waitText(tid("key-created"), "Key “keyboard” created")
		b.waitVisible(tid("revoke-keyboard"))
		if n := len(activeKeys(h, "keyboard")); n != 1 {
			t.Fatalf("%d active keys named keyboard after Enter in the form, want 1", n)
		}

		b.do(chromedp.Focus(chromedp.CSS(tid("revoke-keyboard"))), chromedp.KeyEvent(kb.Enter))
		b.waitFor(b.ctx, `document.getElementById('confirm-dialog').open`, "the confirmation dialog to open")
		b.waitText(tid("confirm-dialog"), "Revoke key “keyboard”?")
		if f := b.focused(); f != "confirm-cancel" {
			t.Fatalf("focus in the open dialog is on %q, want confirm-cancel", f)
		}
		b.do(chromedp.KeyEvent(kb.Escape))
		b.waitFor(b.ctx, `!document.getElementById('confirm-dialog').open`, "Escape to close the confirmation dialog")
		// The dialog gives the focus back in its close event, a moment
		// after it closes.
		b.waitFor(b.ctx, `document.activeElement && document.activeElement.dataset.testid === 'revoke-keyboard'`,
			"the focus to return to the revoke button that opened the dialog")
		if n := len(activeKeys(h, "keyboard")); n != 1 {
			t.Fatal("Escape revoked the key")
		}

		b.do(chromedp.KeyEvent(kb.Enter))
		b.waitFor(b.ctx, `document.getElementById('confirm-dialog').open`, "Enter to open the confirmation dialog again")
		b.do(chromedp.KeyEvent(kb.Tab))
		if f := b.focused(); f != "confirm-ok" {
			t.Fatalf("Tab from Cancel moved focus to %q, want confirm-ok", f)
		}
		b.shot("keys-confirm-keyboard")
		b.do(chromedp.KeyEvent(kb.Enter))
		b.waitText(tid("status"), "Key keyboard revoked.")
		if n := len(activeKeys(h, "keyboard")); n != 0 {
			t.Fatal("the key is still active after confirming with Enter")
		}

		// The browser gives the focus back when the dialog closes, before
		// the close event arrives, so a quick user can open it again first.
		// The earlier closing's event must not answer the new question.
		got := b.evalAwaitString(`import('/console/assets/ui.js').then(async (ui) => {
			const dlg = document.getElementById('confirm-dialog');
			const first = ui.confirmAction({ title: 'first', text: '' });
			dlg.close('cancel');
			const second = ui.confirmAction({ title: 'second', text: '' });
			const a = await first;
			await new Promise((r) => setTimeout(r, 50));
			const stillOpen = dlg.open;
			dlg.close('ok');
			const b = await second;
			return [a, stillOpen, b].join(',');
		})`)
		if got != "false,true,true" {
			t.Fatalf("first answer, dialog open after the stale close event, second answer = %s, want false,true,true", got)
		}
	}

	// Upload a policy, see it active, roll back to the built-in one.
	{
		rego, err := os.ReadFile(filepath.Join("..", "testdata", "uploaded-policies", "closed-vpn", "risk.rego"))
		if err != nil {
			t.Fatal(err)
		}
		tests, err := os.ReadFile(filepath.Join("..", "testdata", "uploaded-policies", "closed-vpn", "risk_test.rego"))
		if err != nil {
			t.Fatal(err)
		}
		b.open("#/policy")
		b.waitVisible(tid("policy-form"))
		b.do(
			chromedp.SetValue(chromedp.CSS(tid("policy-rego")), string(rego)),
			chromedp.SetValue(chromedp.CSS(tid("policy-tests")), string(tests)),
			chromedp.Click(chromedp.CSS(tid("policy-upload"))),
		)
		b.waitText(tid("status"), "Version 1 compiled")
		b.waitReady("#/policy")
		b.waitText("#main", "Active: version 1")
		b.waitText(tid("policy-active-rego"), "vpn is closed by the uploaded policy")
		pol := apitest.AdminAs[apitest.Policy](h.Client, http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)
		if active := pol.Active; active.Version != 1 || active.Builtin || active.CreatedBy != "console:admin" {
			t.Fatalf("active policy after the upload = %v, want version 1 by console:admin", active)
		}
		b.shot("policy-uploaded")

		b.do(chromedp.Click(chromedp.CSS(tid("rollback-0"))))
		b.waitVisible(tid("confirm-dialog"))
		b.waitText(tid("confirm-dialog"), "Activate version 0?")
		b.waitText(tid("confirm-dialog"), "The built-in default policy decides every attempt")
		b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
		b.waitText(tid("status"), "Version 0 is active.")
		b.waitText("#main", "Active: version 0 (built-in default)")
		b.waitVisible(tid("rollback-1"))
		pol = apitest.AdminAs[apitest.Policy](h.Client, http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)
		active := pol.Active
		versions := pol.Versions
		if active.Version != 0 || !active.Builtin || len(versions) != 2 {
			t.Fatalf("policy after the rollback = %v, want the built-in version 0 active and 2 versions", pol)
		}
		for _, v := range versions {
			if v.Active != (v.Version == 0) {
				t.Fatalf("versions after the rollback = %v, want only version 0 active", versions)
			}
		}
		b.shot("policy-rolled-back")
	}
	b.assertNoScriptErrors()
}

// TestConsoleXLSXRoundTrip exports users as XLSX, edits the file as a
// spreadsheet program would, and imports it: a file with a bad row is
// refused whole, the good one applied.
func TestConsoleXLSXRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Setup("vpn", []string{"pin", "passwordless"}, "high", "ada", "pin")
	b := newBrowser(t, h, "xlsx", 1280, 800)
	b.signIn()
	b.open("#/import")
	b.waitVisible(tid("import-form"))

	exported := b.download(tid("export-xlsx"))
	book, err := excelize.OpenReader(bytes.NewReader(exported))
	if err != nil {
		t.Fatalf("the exported file is not XLSX: %v", err)
	}
	rows, err := book.GetRows(book.GetSheetList()[0])
	book.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], []string{"authid", "name", "email", "phone", "status", "systems", "Email login enabled", "Organisation"}) {
		t.Fatalf("exported rows = %q, want the header, admin and ada", rows)
	}
	adaRow := slices.IndexFunc(rows, func(r []string) bool { return len(r) > 0 && r[0] == "ada" }) + 1
	if adaRow == 0 || !slices.Contains(rows[adaRow-1], "vpn:pin") {
		t.Fatalf("exported rows = %q, want ada with vpn:pin", rows)
	}
	// edited is the exported book with ada on passwordless and grace
	// added, plus extra rows.
	edited := func(name string, extra ...[]any) string {
		book, err := excelize.OpenReader(bytes.NewReader(exported))
		if err != nil {
			t.Fatal(err)
		}
		defer book.Close()
		sheet := book.GetSheetList()[0]
		if err := book.SetCellValue(sheet, fmt.Sprintf("F%d", adaRow), "vpn:passwordless"); err != nil {
			t.Fatal(err)
		}
		extra = append([][]any{{"grace", "Grace Hopper", "grace@example.com", "", "", "vpn:pin"}}, extra...)
		for i, r := range extra {
			if err := book.SetSheetRow(sheet, fmt.Sprintf("A%d", 4+i), &r); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(t.TempDir(), name)
		if err := book.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	preview := func(path string) {
		b.do(
			chromedp.SetUploadFiles(chromedp.CSS(tid("import-file")), []string{path}),
			chromedp.Click(chromedp.CSS(tid("import-preview-button"))),
		)
	}
	adaSystems := func() []apitest.Assignment {
		return apitest.AdminAs[apitest.Assignments](h.Client, http.MethodGet, "/v1/admin/users/ada/systems", nil, http.StatusOK).Assignments
	}
	before := adaSystems()

	// A bad row: the preview shows it, Apply is disabled, and forcing it
	// is refused; nothing changes.
	{
		preview(edited("users-bad.xlsx", []any{"bob", "Bob", "bob@example.com", "", "", "nosuch:pin"},
			[]any{"zed", "Zed", "", "", "", "", "N", "nowhere"}))
		b.waitText(tid("import-summary"), "1 to create, 1 to update, 1 unchanged, 2 with errors.")
		b.waitText(tid("import-rows"), `system "nosuch" does not exist`)
		b.waitText(tid("import-rows"), `organisation "nowhere" not found`)
		// A row names another organisation: the table says which.
		if !b.evalBool(`[...document.querySelectorAll('[data-testid="import-rows"] th')].some((th) => th.textContent === 'Organisation')`) {
			t.Fatal("the preview of a file naming another organisation has no Organisation column")
		}
		if !b.evalBool(`document.querySelector('[data-testid="import-apply"]').disabled`) {
			t.Fatal("Apply is offered for a file with a bad row")
		}
		b.shot("import-xlsx-errors")
		// The refused apply shows the preview again: wait for the new one.
		b.do(
			chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="import-summary"]').dataset.old = 'yes'`),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="import-apply"]').disabled = false`),
			chromedp.Click(chromedp.CSS(tid("import-apply"))),
		)
		b.waitFor(b.ctx, `(() => { const s = document.querySelector('[data-testid="import-summary"]'); return Boolean(s && !s.dataset.old) && !document.querySelector('[data-testid="import-preview"]').hasAttribute('aria-busy'); })()`,
			"the refused apply to show the preview again")
		b.waitText(tid("import-summary"), "2 with errors. Fix the rows with errors")
		for _, who := range []string{"grace", "bob", "zed"} {
			h.Admin(http.MethodGet, "/v1/admin/users/"+who, nil, http.StatusNotFound)
		}
		if after := adaSystems(); !slices.Equal(after, before) {
			t.Fatalf("a refused import changed ada's systems: %+v, was %+v", after, before)
		}
	}

	// The good file: 1 create, 1 update; apply.
	{
		preview(edited("users.xlsx"))
		b.waitText(tid("import-summary"), "1 to create, 1 to update, 1 unchanged, 0 with errors.")
		b.waitText(tid("import-rows"), "grace")
		b.waitText(tid("import-apply"), "Apply 2 changes")
		if b.evalBool(`[...document.querySelectorAll('[data-testid="import-rows"] th')].some((th) => th.textContent === 'Organisation')`) {
			t.Fatal("the preview of a file naming only this organisation shows an Organisation column")
		}
		if b.evalBool(`document.querySelector('[data-testid="import-apply"]').disabled`) {
			t.Fatal("Apply is disabled for a valid file with changes")
		}
		h.Admin(http.MethodGet, "/v1/admin/users/grace", nil, http.StatusNotFound)
		b.shot("import-xlsx-preview")
		b.do(chromedp.Click(chromedp.CSS(tid("import-apply"))))
		b.waitText(tid("import-summary"), "Every row was applied.")
		b.waitText(tid("status"), "Import applied: 1 created, 1 updated.")
		if s := adaSystems(); !slices.Contains(s, apitest.Assignment{System: "vpn", Method: "passwordless"}) ||
			slices.ContainsFunc(s, func(a apitest.Assignment) bool { return a.Method == "pin" }) {
			t.Fatalf("ada's systems after the import = %+v, want vpn passwordless only", s)
		}
		if g := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/grace", nil, http.StatusOK); g.Name != "Grace Hopper" || g.Email != "grace@example.com" {
			t.Fatalf("grace after the import = %v", g)
		}
		if s := apitest.AdminAs[apitest.Assignments](h.Client, http.MethodGet, "/v1/admin/users/grace/systems", nil, http.StatusOK).Assignments; !slices.Contains(s, apitest.Assignment{System: "vpn", Method: "pin"}) {
			t.Fatalf("grace's systems after the import = %+v, want vpn pin", s)
		}
		b.shot("import-xlsx-applied")
	}
	b.assertNoScriptErrors()
}

// startSignIn fills in the sign-in form (account acme) and submits it.
// The fields are set, not typed into: the console remembers the account.
func (b *consoleBrowser) startSignIn(authid string) {
	b.t.Helper()
	b.waitVisible(tid("signin-form"))
	ctx := context.Background()
	before, _ := b.h.Store.LatestAttempt(ctx, "acme", "console", authid)
	b.do(
		chromedp.SetValue(chromedp.CSS(tid("signin-account")), "acme"),
		chromedp.SetValue(chromedp.CSS(tid("signin-authid")), authid),
		chromedp.Click(chromedp.CSS(tid("signin-submit"))),
	)
	b.waitVisible(tid("signin-code-form"))
	// The console begins the attempt in the background. A person reads
	// the message (or opens the app) first; a test types at once, so it
	// waits for the attempt to have begun, as a person's pace would, for
	// an administrator (a sign-in for anyone else begins no attempt).
	u, err := b.h.Store.GetUser(ctx, "acme", authid)
	if err != nil || u.Status != store.UserActive {
		return
	}
	if _, err := b.h.Store.ConsoleUser(ctx, u.ID, "console"); err != nil {
		return
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if att, err := b.h.Store.LatestAttempt(ctx, "acme", "console", authid); err == nil && att.ID != before.ID && att.Method != "" {
			return
		}
	}
}

// enterCode replaces what the code field holds with code and verifies it.
func (b *consoleBrowser) enterCode(code string) {
	b.t.Helper()
	b.do(
		// (SetValue cannot set an empty value.)
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ''`, tid("signin-code"))),
		chromedp.SendKeys(chromedp.CSS(tid("signin-code")), code),
		chromedp.Click(chromedp.CSS(tid("signin-verify"))),
	)
}

func (b *consoleBrowser) signOut() {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(tid("sign-out"))))
	b.waitVisible(tid("signin-form"))
	if got := b.evalAwaitString(`fetch('/v1/admin/session').then((r) => String(r.status))`); got != "401" {
		b.t.Fatalf("GET /v1/admin/session after signing out = %s, want 401", got)
	}
}

// focused is the data-testid of the element with the focus.
func (b *consoleBrowser) focused() string {
	b.t.Helper()
	return b.evalString(`document.activeElement && document.activeElement.dataset.testid || ''`)
}

// evalAwaitString evaluates expr, a promise of a string, in the page.
func (b *consoleBrowser) evalAwaitString(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// activeKeys lists the unrevoked API keys named name.
func activeKeys(h *harness, name string) []apitest.APIKey {
	h.t.Helper()
	var out []apitest.APIKey
	for _, k := range apitest.AdminAs[apitest.APIKeys](h.Client, http.MethodGet, "/v1/admin/keys", nil, http.StatusOK).Keys {
		if k.Name == name && k.RevokedAt == nil {
			out = append(out, k)
		}
	}
	return out
}

// totpClock hands out TOTP codes of an enrolled user, each of a later time
// step than the last (the server takes each step once). The server accepts
// one step either side of its own; when the next code would be beyond
// that, the deployment's clock moves on a step rather than the test
// waiting for real time to.
type totpClock struct {
	h      *harness
	secret string
	last   int64
}

const totpPeriod = 30 // seconds

func (c *totpClock) code() string {
	c.h.t.Helper()
	now := c.h.now().Unix() / totpPeriod
	step := max(c.last+1, now)
	if step > now+1 {
		c.h.ahead.Add(int64(time.Duration(step-1-now) * totpPeriod * time.Second))
	}
	c.last = step
	code, err := totp.GenerateCode(c.secret, time.Unix(step*totpPeriod, 0))
	if err != nil {
		c.h.t.Fatal(err)
	}
	return code
}

// enrolTOTP enrols authid's TOTP through the admin API.
func enrolTOTP(h *harness, authid string) *totpClock {
	h.t.Helper()
	out := apitest.AdminAs[apitest.TOTPEnrolment](h.Client, http.MethodPost, "/v1/admin/users/"+authid+"/totp", nil, http.StatusOK)
	c := &totpClock{h: h, secret: out.Secret}
	h.Admin(http.MethodPost, "/v1/admin/users/"+authid+"/totp/verify", req{"code": c.code()}, http.StatusOK)
	return c
}
