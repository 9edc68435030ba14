package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleBranchViews: with a sub-organisation holding a user, the
// administrator ticks "Include sub-organisations" on Users and sees the
// user with its organisation, opens the user's page (which acts on the
// user's organisation for that page alone, the switcher untouched), and
// sees the sub-organisation's rename in the Audit trail with the toggle
// on, but not with it off; then moves the user to its own organisation
// from the user's page, and sees on a sub-organisation's Account page
// that the top organisation sets the email and password switch.
func TestConsoleBranchViews(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Admin(http.MethodPost, "/v1/admin/organisations", map[string]any{"id": "north"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users?organisation=north", map[string]any{"authid": "nina", "name": "Nina North"}, http.StatusCreated)
	h.Admin(http.MethodPatch, "/v1/admin/organisations/north", map[string]any{"name": "North branch"}, http.StatusOK)

	b := newBrowser(t, h, "laptop", 1280, 800)
	b.signIn()
	b.open("#/users")
	if b.evalBool(`Boolean(document.querySelector('[data-testid="user-link-nina"]'))`) {
		t.Fatal("the users list shows a sub-organisation's user without the toggle")
	}
	b.do(chromedp.Click(chromedp.CSS(tid("branch-toggle"))))
	b.waitText(tid("user-org-nina"), "North branch (north)")
	b.shot("users-branch")

	b.do(chromedp.Click(chromedp.CSS(tid("user-link-nina"))))
	b.waitReady("#/users/nina?organisation=north")
	b.waitText(tid("user-organisation"), "north")
	b.waitText("main h1", "User nina")
	if got := b.evalString(`document.getElementById('org-switcher').value`); got != "" {
		t.Fatalf("opening a sub-organisation's user changed the switcher to %q", got)
	}
	// A hash naming an organisation outside the branch gets the API's 404.
	b.open("#/users/nina?organisation=elsewhere")
	b.waitText("main", "could not be loaded")

	b.open("#/audit")
	if !b.evalBool(`document.querySelector('[data-testid="branch-toggle"]').checked`) {
		t.Fatal("the toggle ticked on Users is not kept on Audit")
	}
	b.waitText(tid("audit-table"), "North branch (north)")
	// With the toggle on, the export takes the whole branch: nina's row
	// names north.
	b.open("#/import")
	b.waitReady("#/import")
	if !b.evalBool(`document.querySelector('[data-testid="export-csv"]').href.includes('branch=true')`) {
		t.Fatal("the export link ignores Include sub-organisations")
	}
	csv, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
		`(async () => (await fetch(document.querySelector('[data-testid="export-csv"]').href)).text())()`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(csv, "nina") || !strings.Contains(csv, "north") {
		t.Fatalf("the branch export = %q, %v; want nina of north", csv, err)
	}
	b.open("#/audit")
	b.waitText(tid("audit-table"), "North branch (north)")
	b.do(chromedp.Click(chromedp.CSS(tid("branch-toggle"))))
	b.waitText(tid("audit-summary"), "no filter")
	if b.evalBool(`[...document.querySelectorAll('[data-testid^="event-org-"]')].some((e) => e.innerText.includes('(north)'))`) {
		t.Fatal("the audit trail shows north's events with the toggle off")
	}

	// Move nina to the administrator's own organisation from her page.
	b.open("#/users/nina?organisation=north")
	b.evalBool(`(() => { const s = document.querySelector('[data-testid="user-move-organisation"]'); s.value = 'acme'; return true; })()`)
	b.do(chromedp.Click(chromedp.CSS(tid("user-move"))))
	b.waitVisible(tid("confirm-dialog"))
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
	b.waitText(tid("user-move-outcome"), "nina moved from north to acme")
	b.do(chromedp.Click(chromedp.CSS(tid("user-move-open"))))
	b.waitReady("#/users/nina")
	b.waitText(tid("user-organisation"), "acme")

	// Acting on north, the Account page shows the email and password
	// switch as the top organisation's, and does not offer to change it.
	b.evalBool(`(() => { const s = document.getElementById('org-switcher'); s.value = 'north'; s.dispatchEvent(new Event('change')); return true; })()`)
	b.open("#/account")
	b.waitText(tid("email-password-set-by"), "Set by acme")
	if !b.evalBool(`document.querySelector('[data-testid="email-password-login"]').disabled`) {
		t.Fatal("a sub-organisation's Account page lets the top organisation's switch be changed")
	}
	b.waitText(tid("account-policy-source"), "policy")
	b.assertNoScriptErrors()
}
