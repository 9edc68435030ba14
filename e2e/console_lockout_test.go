package e2e

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flexauth/flexauth/internal/apitest"
)

// TestConsoleClearsALockOut: someone's wrong PINs lock a user's PIN; the
// user's page in the console shows the run of failures and the lock, and
// an administrator clears it (after confirming), which opens the PIN again.
func TestConsoleClearsALockOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Setup("vpn", []string{"pin"}, "low", "liz", "pin")
	h.Expect("/v1/start", req{"system": "vpn", "authid": "liz"}, http.StatusOK, "success")
	msg := h.waitMessage("liz@example.com", 1)
	wrong := "12345678"
	if wrong == msg.Code {
		wrong = "87654321"
	}
	for range 5 {
		h.Expect("/v1/check", req{"system": "vpn", "authid": "liz", "pin": wrong}, http.StatusForbidden, "security error")
	}
	// Locked: the PIN is refused, and a new start too (the system has no links).
	h.Expect("/v1/start", req{"system": "vpn", "authid": "liz"}, http.StatusForbidden, "security error")

	b := newBrowser(t, h, "laptop", 1280, 800)
	b.signIn()
	b.open("#/users/liz")
	b.waitText(tid("user-lockouts"), "pin")
	b.waitText(tid("user-lockouts"), "5")
	b.waitText(tid("user-lockouts"), "locked until")
	b.shot("user-lockout")
	b.do(chromedp.Click(chromedp.CSS(tid("lockout-clear"))))
	b.waitVisible(tid("confirm-dialog"))
	b.waitText(tid("confirm-dialog"), "Clear the lock-out of liz?")
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
	b.waitText(tid("status"), "Lock-out of liz cleared.")
	b.waitVisible(tid("user-lockouts-empty"))

	h.Expect("/v1/start", req{"system": "vpn", "authid": "liz"}, http.StatusOK, "success")
	events := apitest.AdminAs[apitest.AuditEvents](h.Client, http.MethodGet, "/v1/admin/audit?type=user.lockout_cleared", nil, http.StatusOK).Events
	if len(events) != 1 || events[0].Detail["actor"] != "console:admin" {
		t.Fatalf("user.lockout_cleared events = %v, want one by console:admin", events)
	}
	b.assertNoScriptErrors()
}
