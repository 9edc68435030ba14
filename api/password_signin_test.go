package api_test

import (
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/historytest"
	"github.com/flexauth/flexauth/payloadcodec"
)

// pageBrowser is one user's browser on the hosted pages: it keeps cookies, and
// posts forms as the page's own.
type pageBrowser struct {
	t      *testing.T
	client *http.Client
}

func newPageBrowser(t *testing.T) *pageBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pageBrowser{t: t, client: &http.Client{Jar: jar}}
}

func (b *pageBrowser) get(u string) apitest.Response {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(r)
}

func (b *pageBrowser) post(u string, form url.Values) apitest.Response {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", r.URL.Scheme+"://"+r.URL.Host)
	return b.do(r)
}

func (b *pageBrowser) do(r *http.Request) apitest.Response {
	b.t.Helper()
	res, err := b.client.Do(r)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	var body strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return apitest.Response{Status: res.StatusCode, Body: body.String(), Header: res.Header}
}

var (
	keyPattern      = regexp.MustCompile(`<code id="totp-key">([A-Z2-7 ]+)</code>`)
	recoveryPattern = regexp.MustCompile(`<li><code>([A-Z0-9-]+)</code></li>`)
)

// totpNow is the current code of the key an enrolment page shows.
func totpNow(t *testing.T, page string) string {
	t.Helper()
	m := keyPattern.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no key on the enrolment page:\n%s", page)
	}
	code, err := attempt.TOTPCode(strings.ReplaceAll(m[1], " ", ""), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// passwordUser sets up system portal (password sign-in, return URL) and
// user ada with email and password sign-in and the password "correct
// horse battery", set on the welcome page.
func passwordUser(t *testing.T, h *harness) {
	t.Helper()
	allowEmailLogin(h)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{
		"name": "portal", "methods": []string{"password", "passwordless"}, "sensitivity": "medium",
		"ttl_seconds": 300, "return_url": "https://app.example/signed-in?x=1",
	}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "name": "Ada", "email": "ada@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/ada/systems", req{"assignments": []req{{"system": "portal", "method": "password"}}}, http.StatusOK)
	// Without the switch, and then without a password, the method is refused.
	h.Expect("/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusForbidden, "security error")
	h.Admin(http.MethodPatch, "/v1/admin/users/ada", req{"email_password_login": true}, http.StatusOK)
	h.Expect("/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusForbidden, "security error")
	msg := welcomeFor(t, h, "ada@example.com", 1)
	wantPage(t, submitPassword(t, msg.Link, "correct horse battery", "correct horse battery"), http.StatusOK, "Your password is set")
}

// startPassword starts a password attempt and returns its id and page URL.
func startPassword(t *testing.T, h *harness) (string, string) {
	t.Helper()
	out := apitest.ExpectAs[apitest.StartSuccess](h.Client, "/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
	u := out.URL
	if out.Method != "password" || !strings.HasPrefix(u, h.URL+attempt.PagePath) {
		t.Fatalf("start = %v, want method password and a page URL", out)
	}
	return out.Attempt, u
}

func TestPasswordSignInWithForcedEnrolment(t *testing.T) {
	h := newHarness(t)
	passwordUser(t, h)
	attemptID, page := startPassword(t, h)
	check := req{"system": "portal", "authid": "ada", "attempt": attemptID}
	h.Expect("/v1/check", check, http.StatusAccepted, "pending")

	ada := newPageBrowser(t)
	res := ada.get(page)
	wantPage(t, res, http.StatusOK, `autocomplete="current-password"`, `value="a•••@example.com"`, `<label for="password">`, `href="/forgot/acme"`)
	// Whoever typed ada's authid into the application gets this page: it
	// does not give away her address.
	if strings.Contains(res.Body, "ada@example.com") {
		t.Fatal("the sign-in page shows the user's whole email address")
	}

	t.Run("a wrong password is refused on the page and counted", func(t *testing.T) {
		res := ada.post(page, url.Values{"step": {"password"}, "password": {"not the password"}})
		wantPage(t, res, http.StatusUnprocessableEntity, "That password is not right.", `role="alert"`)
		h.Expect("/v1/check", check, http.StatusAccepted, "pending")
		if got := h.AuditTypes("authid=ada&type=code.rejected"); len(got) != 1 {
			t.Fatalf("code.rejected events = %v, want one", got)
		}
	})

	var enrol apitest.Response
	t.Run("the right password leads to enrolment, in this browser only", func(t *testing.T) {
		enrol = ada.post(page, url.Values{"step": {"password"}, "password": {"correct horse battery"}})
		wantPage(t, enrol, http.StatusOK, "Set up your authenticator app", `<img id="qr" src="data:image/png;base64,`, `id="totp-key"`)
		if csp := enrol.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src data:") {
			t.Fatalf("CSP = %q, want data: images for the QR code", csp)
		}
		h.Expect("/v1/check", check, http.StatusAccepted, "pending")
		// The application holds the URL too; it sees no seed.
		other := newPageBrowser(t).get(page)
		wantPage(t, other, http.StatusForbidden, "Continue in the browser where you typed your password")
		if strings.Contains(other.Body, "totp-key") {
			t.Fatal("another browser sees the seed")
		}
		// Nor can it take the attempt over with the password.
		again := newPageBrowser(t).post(page, url.Values{"step": {"password"}, "password": {"correct horse battery"}})
		if again.Status == http.StatusOK || strings.Contains(again.Body, "totp-key") {
			t.Fatalf("a second password post = %d:\n%s", again.Status, again.Body)
		}
		// Refreshing shows the same seed: the QR code scanned stays valid.
		if k1, k2 := keyPattern.FindString(enrol.Body), keyPattern.FindString(ada.get(page).Body); k1 == "" || k1 != k2 {
			t.Fatalf("the seed changed on refresh: %q then %q", k1, k2)
		}
	})

	var codes []string
	t.Run("a code from the app enrols it, signs in and shows the recovery codes once", func(t *testing.T) {
		wrong := ada.post(page, url.Values{"step": {"enrol"}, "code": {"000000"}})
		if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.Body, "That code does not match") {
			t.Fatalf("wrong enrolment code = %d:\n%s", wrong.Status, wrong.Body)
		}
		done := ada.post(page, url.Values{"step": {"enrol"}, "code": {totpNow(t, enrol.Body)}})
		wantPage(t, done, http.StatusOK, "You are signed in to portal", "Your recovery codes", "only time they are shown",
			`href="https://app.example/signed-in?x=1"`)
		for _, m := range recoveryPattern.FindAllStringSubmatch(done.Body, -1) {
			codes = append(codes, html.UnescapeString(m[1]))
		}
		if len(codes) != 10 {
			t.Fatalf("recovery codes shown = %v, want 10", codes)
		}
		h.Expect("/v1/check", check, http.StatusOK, "authenticated")
		if again := ada.get(page); strings.Contains(again.Body, codes[0]) {
			t.Fatal("the recovery codes were shown twice")
		}
		user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK)
		if !user.TOTPEnabled {
			t.Fatalf("ada = %v, want totp enabled", user)
		}
		if msg := h.outbox.sentTo(t, "ada@example.com", 2); !strings.HasPrefix(msg.Subject, "An authenticator app was set up for") {
			t.Fatalf("message after enrolment = %+v, want the notice", msg)
		}
		types := strings.Join(h.AuditTypes("authid=ada"), ",")
		for _, want := range []string{"password.accepted", "totp.enrolled", "recovery_codes.generated", "attempt.authenticated"} {
			if !strings.Contains(types, want) {
				t.Errorf("audit %s lacks %s", types, want)
			}
		}
		raw := h.Do(http.MethodGet, "/v1/admin/audit?authid=ada", h.AdminKey, nil).Body
		if strings.Contains(raw, "correct horse battery") || strings.Contains(raw, codes[0]) {
			t.Fatal("the audit trail holds the password or a recovery code")
		}
	})

	t.Run("later sign-ins ask for the password and a code; a recovery code works once", func(t *testing.T) {
		// A browser new to flexauth, whose first post is the right password.
		laptop := newPageBrowser(t)
		attemptID, page := startPassword(t, h)
		res := laptop.post(page, url.Values{"step": {"password"}, "password": {"correct horse battery"}})
		wantPage(t, res, http.StatusOK, "Two-step verification", `autocomplete="one-time-code"`)
		done := laptop.post(page, url.Values{"step": {"totp"}, "code": {strings.ToLower(codes[0])}})
		wantPage(t, done, http.StatusOK, "You are signed in to portal", `http-equiv="refresh"`)
		h.Expect("/v1/check", req{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusOK, "authenticated")
		if msg := h.outbox.sentTo(t, "ada@example.com", 3); !strings.HasPrefix(msg.Subject, "A recovery code was used to sign in to") {
			t.Fatalf("message after the recovery code = %+v, want the notice", msg)
		}

		attemptID, page = startPassword(t, h)
		ada.post(page, url.Values{"step": {"password"}, "password": {"correct horse battery"}})
		spent := ada.post(page, url.Values{"step": {"totp"}, "code": {codes[0]}})
		wantPage(t, spent, http.StatusUnprocessableEntity, "That code is not right.")
		h.Expect("/v1/check", req{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusAccepted, "pending")
	})

	t.Run("a form from another site is refused", func(t *testing.T) {
		_, page := startPassword(t, h)
		r, _ := http.NewRequest(http.MethodPost, page, strings.NewReader("step=password&password=correct+horse+battery"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://evil.example")
		if res := ada.do(r); res.Status != http.StatusForbidden {
			t.Fatalf("cross-site post = %d", res.Status)
		}
	})

	t.Run("unknown and malformed page URLs get one gone page", func(t *testing.T) {
		unknown := ada.get(h.URL + attempt.PagePath + strings.Repeat("A", 43))
		wantPage(t, unknown, http.StatusGone, "This sign-in has expired or was already completed")
		if bad := ada.get(h.URL + attempt.PagePath + "short"); bad.Body != unknown.Body {
			t.Fatal("a malformed URL answers differently from an unknown one")
		}
	})
}

func TestWrongPasswordsLockThePasswordButNotTheLink(t *testing.T) {
	h := newHarness(t)
	passwordUser(t, h)
	attemptID, page := startPassword(t, h)
	b := newPageBrowser(t)
	var last apitest.Response
	for range 5 { // the default policy's max_attempts at medium sensitivity
		last = b.post(page, url.Values{"step": {"password"}, "password": {"guess"}})
	}
	wantPage(t, last, http.StatusForbidden, "This sign-in cannot go on")
	h.Expect("/v1/check", req{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusForbidden, "security error")
	// The lock outlives the attempt: a new start is refused like any other
	// refusal, and even the right password would not be looked at.
	h.Expect("/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusForbidden, "security error")
	user := h.Do(http.MethodGet, "/v1/admin/users/ada", h.AdminKey, nil)
	if !strings.Contains(user.Body, `"factor":"password"`) {
		t.Fatalf("ada = %s, want the password locked", user.Body)
	}
	// A link still signs the user in where the system offers it.
	h.Admin(http.MethodPut, "/v1/admin/users/ada/systems", req{"assignments": []req{{"system": "portal", "method": "passwordless"}}}, http.StatusOK)
	h.Start("portal", "ada")
}

func TestPasswordIsNotInWorkflowHistoryOrTheStore(t *testing.T) {
	h := newHarness(t)
	passwordUser(t, h)
	attemptID, page := startPassword(t, h)
	b := newPageBrowser(t)
	b.post(page, url.Values{"step": {"password"}, "password": {"not it at all"}})
	b.post(page, url.Values{"step": {"password"}, "password": {"correct horse battery"}})
	att, err := h.Store.GetAttempt(t.Context(), attemptID)
	if err != nil {
		t.Fatal(err)
	}
	left, err := h.Store.DB().NewSelect().Table("attempt_secrets").Where("attempt_id = ?", attemptID).Count(t.Context())
	if err != nil || left != 0 {
		t.Fatalf("attempt secrets left: %d, %v; want none once the passwords are checked", left, err)
	}
	history := decodedHistory(t, h, att.WorkflowID)
	for _, plain := range []string{"correct horse battery", "not it at all"} {
		if strings.Contains(history, plain) {
			t.Fatalf("workflow history holds a password in clear")
		}
	}
}

// decodedHistory is the workflow's history with its payloads decrypted, as
// one string: what someone holding Temporal's database and the master key
// would read.
func decodedHistory(t *testing.T, h *harness, workflowID string) string {
	t.Helper()
	hist, err := historytest.Fetch(t.Context(), h.Temporal, workflowID)
	if err != nil {
		t.Fatal(err)
	}
	payloads, err := payloadcodec.New(h.Keys).Decode(historytest.Payloads(hist))
	if err != nil {
		t.Fatal(err)
	}
	if len(payloads) < 5 {
		t.Fatalf("history holds %d payloads", len(payloads))
	}
	var all strings.Builder
	for _, p := range payloads {
		all.Write(p.GetData())
	}
	return all.String()
}
