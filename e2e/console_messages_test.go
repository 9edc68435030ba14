package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleMessages edits the account's SMS text of the sign-in code on
// the console's Messages page: a template that drops the code is refused
// with the server's error, a good one is saved and previewed with sample
// data, shows as the account's at a system's level, and returns to the
// built-in one.
func TestConsoleMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDevOutbox())
	setupConsoleAdmin(h)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin"}}, http.StatusCreated)
	b := newBrowser(t, h, "laptop", 1280, 800)
	b.signIn()

	b.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/messages"]`)))
	b.waitReady("#/messages")
	b.choose(tid("messages-message"), "signin_code")
	b.waitFor(b.ctx, `(() => { const e = document.querySelector('[data-testid="part-sms"]'); return Boolean(e && e.value.includes('sign-in code')); })()`,
		"the built-in SMS text of the sign-in code")

	b.setInput(tid("part-sms"), "Your code is coming")
	b.do(chromedp.Click(chromedp.CSS(tid("message-save"))))
	b.waitText(tid("messages-error"), "message signin_code, part sms")
	if got := h.Admin(http.MethodGet, "/v1/admin/messages", nil, http.StatusOK); got["messages"].(map[string]any)["signin_code"].(map[string]any)["sms"].(map[string]any)["source"] != "builtin" {
		t.Fatalf("a refused template was stored: %v", got)
	}

	b.setInput(tid("part-sms"), "{{.Code}} is your Acme code")
	b.do(chromedp.Click(chromedp.CSS(tid("message-save"))))
	b.waitText(tid("status"), "Sign-in code (PIN) saved.")
	got := h.Admin(http.MethodGet, "/v1/admin/messages", nil, http.StatusOK)
	sms := got["messages"].(map[string]any)["signin_code"].(map[string]any)["sms"].(map[string]any)
	subject := got["messages"].(map[string]any)["signin_code"].(map[string]any)["subject"].(map[string]any)
	if sms["source"] != "account" || sms["template"] != "{{.Code}} is your Acme code" || subject["source"] != "builtin" {
		t.Fatalf("after saving: sms %v, subject %v (unchanged parts must stay built in)", sms, subject)
	}

	b.do(chromedp.Click(chromedp.CSS(tid("preview-sms"))))
	b.waitText(tid("preview-text"), "428913 is your Acme code")
	b.do(chromedp.Click(chromedp.CSS(tid("preview-email"))))
	b.waitText(tid("preview-text"), "Your code to sign in to Example is:")
	if html := b.evalString(`document.querySelector('[data-testid="preview-html"]').textContent`); !strings.Contains(html, ">428913</p>") {
		t.Fatalf("the HTML preview = %q", html)
	}
	b.shot("messages")

	// At the system's level, the account's text applies and is not the
	// system's to return.
	b.choose(tid("messages-level"), "vpn")
	b.waitFor(b.ctx, `(() => { const e = document.querySelector('[data-testid="part-sms"]'); return Boolean(e && e.value === '{{.Code}} is your Acme code') && !document.querySelector('[data-testid="part-reset-sms"]'); })()`,
		"the account's SMS text at the system's level, without a reset")

	b.choose(tid("messages-level"), "")
	b.waitVisible(tid("part-reset-sms"))
	b.do(chromedp.Click(chromedp.CSS(tid("part-reset-sms"))))
	b.waitVisible(tid("confirm-dialog"))
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
	b.waitText(tid("status"), "returned to the level below")
	got = h.Admin(http.MethodGet, "/v1/admin/messages", nil, http.StatusOK)
	if src := got["messages"].(map[string]any)["signin_code"].(map[string]any)["sms"].(map[string]any)["source"]; src != "builtin" {
		t.Fatalf("after the reset the sms part comes from %v", src)
	}
	b.assertNoScriptErrors()
}
