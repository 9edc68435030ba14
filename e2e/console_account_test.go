package e2e

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flexauth/flexauth/internal/apitest"
)

// TestConsoleAccountSettings turns email delivery off from the console's
// Account page at laptop size: the change asks for confirmation (cancel
// keeps it on), then reaches the server.
func TestConsoleAccountSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	b := newBrowser(t, h, "laptop", 1280, 800)
	b.signIn()

	b.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/account"]`)))
	b.waitReady("#/account")
	b.waitText(tid("account-facts"), "acme")
	b.waitText(tid("email-delivery-state"), "Email delivery is on")
	b.waitText(tid("email-password-state"), "Email and password authentication is off")
	if !b.evalBool(`document.querySelector('[data-testid="email-delivery"]').checked`) {
		t.Fatal("the email delivery box is not ticked for an account with email delivery on")
	}
	for _, id := range []string{"account-email-delivery", "account-email-password"} {
		if label := b.evalString(`document.querySelector('label[for="` + id + `"]').innerText`); label == "" {
			t.Fatalf("the box %s has no label", id)
		}
	}

	// Cancelling the confirmation changes nothing.
	b.do(
		chromedp.Click(chromedp.CSS(tid("email-delivery"))),
		chromedp.Click(chromedp.CSS(tid("account-save"))),
	)
	b.waitVisible(tid("confirm-dialog"))
	b.waitText(tid("confirm-dialog"), "Turn email delivery off?")
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-cancel"))))
	b.waitFor(b.ctx, `!document.getElementById('confirm-dialog').open && document.querySelector('[data-testid="email-delivery"]').checked`,
		"the dialog to close and the box to be ticked again")
	if got := apitest.AdminAs[apitest.Account](h.Client, http.MethodGet, "/v1/admin/account", nil, http.StatusOK); !got.EmailDelivery {
		t.Fatalf("a cancelled change reached the server: %v", got)
	}

	// Confirmed, the change is saved.
	b.do(
		chromedp.Click(chromedp.CSS(tid("email-delivery"))),
		chromedp.Click(chromedp.CSS(tid("account-save"))),
	)
	b.waitVisible(tid("confirm-dialog"))
	b.shot("account-confirm")
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
	b.waitText(tid("status"), "Email delivery turned off.")
	b.waitText(tid("email-delivery-state"), "Email delivery is off")
	got := apitest.AdminAs[apitest.Account](h.Client, http.MethodGet, "/v1/admin/account", nil, http.StatusOK)
	if got.EmailDelivery {
		t.Fatalf("the account after the change = %v, want email_delivery false", got)
	}
	events := apitest.AdminAs[apitest.AuditEvents](h.Client, http.MethodGet, "/v1/admin/audit?type=account.updated", nil, http.StatusOK).Events
	if len(events) != 1 || events[0].Detail["actor"] != "console:admin" {
		t.Fatalf("account.updated events = %v, want one by console:admin", events)
	}
	b.shot("account")
	b.assertNoScriptErrors()
}
