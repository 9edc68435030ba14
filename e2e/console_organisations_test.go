package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flexauth/flexauth/internal/apitest"
)

// TestConsoleOrganisations: an administrator creates a sub-organisation on
// the Organisations page, sees it in the tree with its user count, switches
// the console to it, and creates a system there: the system belongs to the
// sub-organisation, not to the administrator's own. Switching back shows
// the own organisation's systems again.
func TestConsoleOrganisations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	b := newBrowser(t, h, "laptop", 1280, 800)
	b.signIn()
	// One organisation: no switcher.
	if !b.evalBool(`document.getElementById('org-switch').hidden`) {
		t.Fatal("the switcher shows for an administrator of a single organisation")
	}

	b.open("#/organisations")
	b.waitText(tid("org-tree"), "acme")
	b.do(
		chromedp.SendKeys(chromedp.CSS(tid("org-id")), "north"),
		chromedp.SendKeys(chromedp.CSS(tid("org-name")), "North branch"),
		chromedp.Click(chromedp.CSS(tid("org-save"))),
	)
	b.waitText(tid("status"), "Organisation north created.")
	b.waitText(tid("org-north"), "North branch")
	b.waitText(tid("org-users-acme"), "1 user")
	b.waitText(tid("org-users-north"), "0 users")
	b.shot("organisations")

	// The switcher appears after the next sign-in's first page load.
	b.do(chromedp.Reload())
	b.waitReady("#/organisations")
	if b.evalBool(`document.getElementById('org-switch').hidden`) {
		t.Fatal("no switcher with two organisations")
	}
	switchTo := func(org string) {
		t.Helper()
		b.evalBool(`(() => { const s = document.getElementById('org-switcher'); s.value = '` + org + `'; s.dispatchEvent(new Event('change')); return true; })()`)
	}
	switchTo("north")
	b.open("#/systems")
	b.do(
		chromedp.SendKeys(chromedp.CSS(tid("system-name")), "north-vpn"),
		chromedp.Click(chromedp.CSS(tid("system-save"))),
	)
	b.waitText(tid("status"), "System north-vpn created.")
	north := apitest.AdminAs[apitest.Systems](h.Client, http.MethodGet, "/v1/admin/systems?organisation=north", nil, http.StatusOK)
	own := apitest.AdminAs[apitest.Systems](h.Client, http.MethodGet, "/v1/admin/systems", nil, http.StatusOK)
	if !strings.Contains(fmt.Sprint(north), "north-vpn") || strings.Contains(fmt.Sprint(own), "north-vpn") {
		t.Fatalf("north's systems %v, acme's %v: want the system in north only", north, own)
	}

	// Back to the own organisation.
	switchTo("")
	b.open("#/systems")
	b.waitText("main", "console")
	if strings.Contains(b.pageText(), "north-vpn") {
		t.Fatal("the own organisation's systems list shows north's system")
	}
	b.assertNoScriptErrors()
}
