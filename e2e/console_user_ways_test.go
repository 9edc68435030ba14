package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/flexauth/flexauth/plugins/identity/oidc/oidctest"
	"github.com/flexauth/flexauth/store"
)

// TestConsoleShowsHowAUserSignsIn: the user page has one card per way the
// user signs in. Megan signs on through an Entra ID tenant (the real oidc
// plugin process, a local provider and a fake Microsoft Graph): her card
// shows the position and phone Graph gave at sign-on and her sign-in.
// Gina's Google identity was approved by an administrator. Pat signs in
// with email and password and a PIN: the email and password card holds
// the two-factor settings and actions. Newbie never signed in: a notice
// says so. At 390 px the cards stack and nothing scrolls sideways.
func TestConsoleShowsHowAUserSignsIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prov := oidctest.NewEntra(t)
	graph := oidctest.NewGraph(t, prov)
	cfg := prov.Config()
	cfg["verified_domains"] = "contoso.example"
	cfg["graph_url"] = graph.URL()
	h := newHarness(t, withDevOutbox(), withSignOn(cfg))
	setupConsoleAdmin(h)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "portal", "methods": []string{"sso", "pin"}, "sensitivity": "low"}, http.StatusCreated)
	user := func(authid, email string, assignments ...req) {
		t.Helper()
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "email": email}, http.StatusCreated)
		if len(assignments) > 0 {
			h.Admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", req{"assignments": assignments}, http.StatusOK)
		}
	}

	// Megan signs on through Entra ID; Graph is asked with the access
	// token the provider granted.
	user("megan", "megan@contoso.example", req{"system": "portal", "method": "sso"})
	if res := h.ssoSignOn("megan", "megan@contoso.example", 1); res.Status != http.StatusOK {
		t.Fatalf("megan's sign-on: callback = %d %s", res.Status, res.Body)
	}
	h.Expect("/v1/check", req{"system": "portal", "authid": "megan"}, http.StatusOK, "authenticated")
	if got := graph.BearerTokens(); len(got) != 1 || got[0] != prov.AccessTokens()[0] {
		t.Fatalf("Graph got %q, want the access token the provider granted", got)
	}

	// Gina: a Google identity an administrator approved, and a sign-in.
	user("gina", "gina@example.com", req{"system": "portal", "method": "sso"})
	h.Admin(http.MethodPut, "/v1/admin/users/gina/sso", req{"issuer": "https://accounts.google.com", "subject": "1098765"}, http.StatusOK)
	recordSignIn(t, h, "gina", "sso", "192.0.2.44", time.Now().Add(-3*time.Hour))

	// Pat: email and password (its sign-ins as the password attempts
	// record them) and a PIN, signed in for real.
	user("pat", "pat@example.com", req{"system": "portal", "method": "pin"})
	h.Expect("/v1/start", req{"system": "portal", "authid": "pat"}, http.StatusOK, "success")
	msg := h.waitMessage("pat@example.com", 1)
	h.Expect("/v1/check", req{"system": "portal", "authid": "pat", "pin": msg.Code}, http.StatusOK, "authenticated")
	h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, http.StatusOK)
	h.Admin(http.MethodPatch, "/v1/admin/users/pat", req{"email_password_login": true}, http.StatusOK)
	recordSignIn(t, h, "pat", "password", "198.51.100.21", time.Now().Add(-2*time.Hour))
	recordSignIn(t, h, "pat", "password", "198.51.100.20", time.Now().Add(-26*time.Hour))

	user("newbie", "newbie@example.com", req{"system": "portal", "method": "pin"})

	b := newBrowser(t, h, "laptop", 1280, 900)
	b.signIn()
	// The administrator's own security settings are one click away.
	b.do(chromedp.Click(chromedp.CSS(tid("my-security"))))
	b.waitReady("#/users/admin")

	b.open("#/users/megan")
	card := tid("way-entra")
	b.waitText(card+" h3", "Microsoft Entra ID")
	b.waitText(tid("way-entra-position"), "Marketing Manager")
	b.waitText(tid("way-entra-phone"), "+1 412 555 0109")
	b.waitText(tid("way-entra-count"), "1")
	b.waitText(tid("way-entra-last-ip"), "127.0.0.1")
	b.waitText(tid("way-entra-bound"), "bound")
	if last := b.text(tid("way-entra-last-login")); last == "never" || last == "—" {
		t.Fatalf("megan's last login = %q", last)
	}
	if b.count(tid("never-signed-in")) != 0 || b.count(tid("sign-in-ways")+" .way") != 1 {
		t.Fatalf("megan's page: %d notices, %d cards; want none, one", b.count(tid("never-signed-in")), b.count(tid("sign-in-ways")+" .way"))
	}
	b.shot("user-ways-entra")

	b.open("#/users/gina")
	b.waitText(tid("way-google")+" h3", "Google")
	b.waitText(tid("way-google-last-ip"), "192.0.2.44")
	if b.count(tid("way-google")+" "+tid("way-entra-position")) != 0 {
		t.Fatal("the Google card shows a position")
	}

	b.open("#/users/pat")
	b.waitText(tid("way-password")+" h3", "Email and password")
	b.waitText(tid("way-password-count"), "2")
	b.waitText(tid("way-password-last-ip"), "198.51.100.21")
	b.waitText(tid("way-pin-count"), "1")
	b.waitText(tid("way-pin-last-ip"), "127.0.0.1")
	// The security settings and their actions are in the password card,
	// and nowhere else on the page.
	b.waitText(tid("way-password-totp"), "not enrolled")
	b.waitText(tid("way-password-reset-at"), "never")
	for _, action := range []string{"totp-enrol", "totp-reset", "recovery-generate"} {
		if n, in := b.count(tid(action)), b.count(tid("way-password")+" "+tid(action)); n != 1 || in != 1 {
			t.Fatalf("%s: %d on the page, %d in the password card; want one, there", action, n, in)
		}
	}
	if b.count(tid("totp-status")) != 0 || strings.Contains(b.pageText(), "null") {
		t.Fatal("a separate two-factor section (or a stray null) is shown beside the password card")
	}
	// Enrolling from the card: the QR code and the key show in it.
	b.do(chromedp.Click(chromedp.CSS(tid("way-password") + " " + tid("totp-enrol"))))
	b.waitVisible(tid("way-password") + " " + tid("totp-qr"))
	b.waitVisible(tid("way-password") + " " + tid("totp-secret"))
	b.shot("user-ways-password")
	// A password reset email from the card: pat has no password yet, so
	// the API sends a welcome link instead, and the page says so.
	b.do(chromedp.Click(chromedp.CSS(tid("way-password") + " " + tid("password-reset-send"))))
	b.waitVisible(tid("confirm-dialog"))
	b.do(chromedp.Click(chromedp.CSS(tid("confirm-ok"))))
	b.waitText(tid("status"), "pat has no password yet: a welcome email is on its way.")

	b.open("#/users/newbie")
	b.waitText(tid("never-signed-in"), "newbie has never signed in.")
	b.waitText(tid("way-pin-last-login"), "never")
	b.waitText(tid("way-pin-count"), "0")
	b.shot("user-ways-never")

	// A phone: the cards stack, one per row, and nothing scrolls sideways.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.prefix = "phone"
	b.open("#/users/pat")
	b.waitVisible(tid("way-password"))
	if !b.evalBool(`(() => { const [a, b] = document.querySelectorAll('.way'); return b.offsetTop > a.offsetTop + a.offsetHeight - 1 && a.offsetLeft === b.offsetLeft; })()`) {
		t.Fatal("the cards do not stack at 390 px")
	}
	b.assertNoSidewaysScroll()
	b.shot("user-ways")
	b.open("#/users/megan")
	b.waitText(tid("way-entra-position"), "Marketing Manager")
	b.assertNoSidewaysScroll()
	b.assertNoScriptErrors()

	if u, err := h.Store.GetUser(ctx, "acme", "megan"); err != nil || u.SSOProvider != "entra" || u.SSOPosition != "Marketing Manager" {
		t.Fatalf("megan in the store = %+v, %v", u, err)
	}
}

// recordSignIn records an authenticated attempt of authid with method, as
// the attempt workflow publishes it.
func recordSignIn(t *testing.T, h *harness, authid, method, ip string, at time.Time) {
	t.Helper()
	at = at.UTC()
	a := store.Attempt{ID: "rec-" + authid + "-" + method + "-" + strings.ReplaceAll(ip, ".", "-"), AccountID: "acme", System: "portal", AuthID: authid,
		WorkflowID: "wf-rec", RunID: "run", State: store.AttemptAuthenticated, Method: method, IP: ip, UserAgent: "test",
		StartedAt: at.Add(-time.Minute), UpdatedAt: at, CompletedAt: &at}
	if _, err := h.Store.InsertAttempt(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
}
