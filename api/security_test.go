package api_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/store"
)

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// waitFor waits for a message to to that satisfies match.
func (d *recordingDeliverer) waitFor(t *testing.T, to string, what string, match func(sdk.SendRequest) bool) sdk.SendRequest {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, m := range d.sent {
			if m.To == to && match(m) {
				d.mu.Unlock()
				return m
			}
		}
		d.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s to %s within 10s", what, to)
	return sdk.SendRequest{}
}

// notice waits for the notice of kind to to.
func (d *recordingDeliverer) notice(t *testing.T, to, kind string) sdk.SendRequest {
	t.Helper()
	return d.waitFor(t, to, "notice "+kind, func(m sdk.SendRequest) bool {
		return m.Metadata["purpose"] == store.LinkNotice && m.Metadata["kind"] == kind
	})
}

// linkTo waits for the n-th message to to whose link starts with prefix.
func (d *recordingDeliverer) linkTo(t *testing.T, to, prefix string, n int) string {
	t.Helper()
	seen := 0
	m := d.waitFor(t, to, "link "+prefix, func(m sdk.SendRequest) bool {
		if strings.HasPrefix(m.Link, prefix) {
			seen++
		}
		return strings.HasPrefix(m.Link, prefix) && seen == n
	})
	return m.Link
}

// security is a browser on the security settings of the harness's account.
type security struct {
	*pageBrowser
	h    *harness
	base string
}

func newSecurity(t *testing.T, h *harness) *security {
	b := newPageBrowser(t)
	// The sign-in answers with a redirect: the tests look at it.
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &security{pageBrowser: b, h: h, base: h.URL + "/security/" + deploytest.Account}
}

// signIn posts the sign-in form and returns the answer.
func (s *security) signIn(email, password string) apitest.Response {
	s.t.Helper()
	return s.post(s.base, url.Values{"email": {email}, "password": {password}})
}

// signInFully signs in with the password and a code computed from seed
// (enrolling when the user has no authenticator yet) and returns the
// final page, and the seed (a new one when it enrolled).
func (s *security) signInFully(password, seed string) (apitest.Response, string) {
	s.t.Helper()
	res := s.signIn("ada@example.com", password)
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), attempt.PagePath) {
		s.t.Fatalf("sign-in = %d %s:\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}
	page := s.h.URL + res.Header.Get("Location")
	step := s.get(page)
	switch {
	case strings.Contains(step.Body, `id="totp-key"`):
		seed = strings.ReplaceAll(keyPattern.FindStringSubmatch(step.Body)[1], " ", "")
		return s.post(page, url.Values{"step": {"enrol"}, "code": {codeOf(s.t, seed)}}), seed
	case strings.Contains(step.Body, `id="code-form"`):
		// The next step's code (within the allowed skew): the current one
		// may have been used already by an enrolment.
		return s.post(page, url.Values{"step": {"totp"}, "code": {codeAt(s.t, seed, 30*time.Second)}}), seed
	}
	s.t.Fatalf("the sign-in's page shows no second step:\n%s", step.Body)
	return apitest.Response{}, ""
}

// codeOf is the current code of seed.
func codeOf(t *testing.T, seed string) string {
	t.Helper()
	return codeAt(t, seed, 0)
}

// codeAt is seed's code at d from now.
func codeAt(t *testing.T, seed string, d time.Duration) string {
	t.Helper()
	code, err := attempt.TOTPCode(seed, time.Now().Add(d))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// settings loads the settings page and its CSRF token.
func (s *security) settings() (apitest.Response, string) {
	s.t.Helper()
	res := s.get(s.base)
	m := csrfPattern.FindStringSubmatch(res.Body)
	if res.Status != http.StatusOK || m == nil {
		s.t.Fatalf("settings = %d:\n%s", res.Status, res.Body)
	}
	return res, html.UnescapeString(m[1])
}

// change posts a settings form with the session's CSRF token.
func (s *security) change(path string, form url.Values) apitest.Response {
	s.t.Helper()
	_, csrf := s.settings()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrf)
	return s.post(s.base+path, form)
}

func wantSecurityPage(t *testing.T, res apitest.Response, status int, says ...string) {
	t.Helper()
	wantPage(t, res, status, says...)
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "img-src data:") {
		t.Fatalf("CSP = %q", res.Header.Get("Content-Security-Policy"))
	}
}

func cookieOf(res apitest.Response, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// enrolledAda is passwordUser's ada, enrolled through the settings'
// sign-in; it returns her seed and recovery codes.
func enrolledAda(t *testing.T, h *harness) (string, []string) {
	t.Helper()
	passwordUser(t, h)
	b := newSecurity(t, h)
	done, seed := b.signInFully("correct horse battery", "")
	var codes []string
	for _, m := range recoveryPattern.FindAllStringSubmatch(done.Body, -1) {
		codes = append(codes, html.UnescapeString(m[1]))
	}
	if len(codes) != 10 {
		t.Fatalf("enrolment showed %d recovery codes:\n%s", len(codes), done.Body)
	}
	return seed, codes
}

func TestSecuritySignInAnswersAlikeForEveryRefusal(t *testing.T) {
	h := newHarness(t)
	passwordUser(t, h)
	// bob can sign in with links only: no email and password sign-in.
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "bob", "name": "Bob", "email": "bob@example.com"}, http.StatusCreated)

	b := newSecurity(t, h)
	form := b.get(b.base)
	wantSecurityPage(t, form, http.StatusOK, "Sign in to your security settings", `<label for="email">`, `autocomplete="username"`,
		`<label for="password">`, `autocomplete="current-password"`, `action="/security/acme"`)

	answer := func(email, password string) (apitest.Response, time.Duration) {
		t.Helper()
		began := time.Now()
		res := newSecurity(t, h).signIn(email, password)
		return res, time.Since(began)
	}
	same := func(name string, res apitest.Response, email string, took time.Duration, want apitest.Response) {
		t.Helper()
		body := strings.ReplaceAll(res.Body, html.EscapeString(email), "EMAIL")
		wantBody := strings.ReplaceAll(want.Body, "ada@example.com", "EMAIL")
		if res.Status != want.Status || body != wantBody {
			t.Fatalf("%s: %d\n%s\nwant %d\n%s", name, res.Status, res.Body, want.Status, want.Body)
		}
		if (cookieOf(res, "flexauth_attempt") == nil) != (cookieOf(want, "flexauth_attempt") == nil) || cookieOf(res, "flexauth_security") != nil {
			t.Fatalf("%s: cookies %v, want as the wrong password's %v", name, res.Header["Set-Cookie"], want.Header["Set-Cookie"])
		}
		if took < 600*time.Millisecond {
			t.Fatalf("%s answered in %v, before the floor", name, took)
		}
	}

	wrong, took := answer("ada@example.com", "not the password")
	wantSecurityPage(t, wrong, http.StatusUnprocessableEntity, "The email or password is not right.", `role="alert"`, `value="ada@example.com"`)
	if took < 600*time.Millisecond {
		t.Fatalf("a wrong password answered in %v", took)
	}
	res, took := answer("nobody@example.com", "not the password")
	same("an unknown address", res, "nobody@example.com", took, wrong)
	res, took = answer("bob@example.com", "whatever it is")
	same("a user without email and password sign-in", res, "bob@example.com", took, wrong)
	// An address no user can have (PostgreSQL refuses a NUL in a
	// parameter) is refused like any other, not a server error.
	for _, bad := range []string{"ada\x00@example.com", "ada\xff@example.com"} {
		res, _ = answer(bad, "whatever it is")
		wantSecurityPage(t, res, http.StatusUnprocessableEntity, "The email or password is not right.")
	}
	// Wrong passwords count: at high sensitivity the third locks.
	answer("ADA@example.com", "still not it")
	answer("ada@example.com", "nor this")
	res, took = answer("ada@example.com", "correct horse battery")
	same("the right password, locked", res, "ada@example.com", took, wrong)
	if got := h.AuditTypes("authid=ada&type=factor.locked"); len(got) != 1 {
		t.Fatalf("factor.locked = %v, want the password locked once", got)
	}
	// The account's switch off: the same again, after the lock is cleared.
	h.Admin(http.MethodDelete, "/v1/admin/users/ada/lockout", nil, http.StatusOK)
	h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_password_login": false, "confirm_affected_users": 1}, http.StatusOK)
	res, took = answer("ada@example.com", "correct horse battery")
	same("the account's switch off", res, "ada@example.com", took, wrong)

	t.Run("a form from another site is refused", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodPost, b.base, strings.NewReader("email=ada%40example.com&password=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://evil.example")
		if res := b.do(r); res.Status != http.StatusForbidden || cookieOf(res, "flexauth_attempt") != nil {
			t.Fatalf("cross-site sign-in = %d", res.Status)
		}
	})
	raw := h.Do(http.MethodGet, "/v1/admin/audit?authid=ada", h.AdminKey, nil).Body
	if strings.Contains(raw, "correct horse battery") || strings.Contains(raw, "not the password") {
		t.Fatal("the audit trail holds a password")
	}
}

func TestSecuritySettings(t *testing.T) {
	h := newHarness(t)
	passwordUser(t, h)
	ada := newSecurity(t, h)

	var seed string
	t.Run("signing in enrols a first authenticator and opens a session", func(t *testing.T) {
		var done apitest.Response
		done, seed = ada.signInFully("correct horse battery", "")
		wantPage(t, done, http.StatusOK, "You are signed in to your security settings", "Your recovery codes", `href="/security/acme"`)
		ck := cookieOf(done, "flexauth_security")
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/security/" {
			t.Fatalf("session cookie = %+v", ck)
		}
		page, _ := ada.settings()
		wantSecurityPage(t, page, http.StatusOK, "Security settings", "Signed in as <strong>ada@example.com</strong>, Acme.",
			`id="totp-status">On since`, "10 of 10 codes left", `id="email-verified">No`, `id="reset-at">Never`, `id="last-ip">127.0.0.1`)
		if len(h.AuditTypes("authid=ada&type=security.signed_in")) != 1 {
			t.Fatal("the session is not audited")
		}
		// The attempt itself is no application's.
		h.Expect("/v1/check", req{"system": "@security", "authid": "ada"}, http.StatusForbidden, "security error")
	})

	t.Run("forms need the session's CSRF token and the page's origin", func(t *testing.T) {
		res := ada.post(ada.base+"/reset-two-factor", url.Values{"csrf": {"forged"}, "confirm": {"yes"}})
		wantSecurityPage(t, res, http.StatusForbidden, "This form is out of date, and nothing was changed.")
		_, csrf := ada.settings()
		r, _ := http.NewRequest(http.MethodPost, ada.base+"/reset-two-factor", strings.NewReader(url.Values{"csrf": {csrf}, "confirm": {"yes"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://evil.example")
		if res := ada.do(r); res.Status != http.StatusForbidden {
			t.Fatalf("cross-site change = %d", res.Status)
		}
		stranger := newSecurity(t, h)
		res = stranger.post(ada.base+"/reset-two-factor", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
		wantSecurityPage(t, res, http.StatusUnauthorized, "Your session has ended, and nothing was changed.", "Sign in to your security settings")
		if user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); !user.TOTPEnabled {
			t.Fatal("a refused form reset two-factor")
		}
	})

	var codes []string
	t.Run("new recovery codes are shown once and the old set dies", func(t *testing.T) {
		res := ada.change("/recovery-codes", nil)
		wantSecurityPage(t, res, http.StatusOK, "You have new recovery codes.", "this is the only time they are shown")
		for _, m := range recoveryPattern.FindAllStringSubmatch(res.Body, -1) {
			codes = append(codes, html.UnescapeString(m[1]))
		}
		if len(codes) != 10 {
			t.Fatalf("codes shown = %v", codes)
		}
		if again, _ := ada.settings(); strings.Contains(again.Body, codes[0]) {
			t.Fatal("the codes were shown twice")
		}
		n := h.outbox.notice(t, "ada@example.com", store.NoticeRecoveryCodes)
		if n.Subject != "New recovery codes for Acme" || !strings.Contains(n.Text, "in your security settings") || strings.Contains(n.Text, codes[0]) {
			t.Fatalf("notice = %+v", n)
		}
	})

	t.Run("the email is verified with a link", func(t *testing.T) {
		res := ada.change("/verify-email", nil)
		wantSecurityPage(t, res, http.StatusOK, "We sent a link to ada@example.com.")
		link := h.outbox.linkTo(t, "ada@example.com", h.URL+attempt.VerifyPath, 1)
		other := newPageBrowser(t) // any browser: the link proves the address
		wantPage(t, other.get(link), http.StatusOK, "Confirm that ada@example.com is your email address.")
		wantPage(t, other.post(link, url.Values{}), http.StatusOK, "Your email address is verified", `href="/security/acme"`)
		wantPage(t, other.post(link, url.Values{}), http.StatusGone, "This link has expired or was already used")
		page, _ := ada.settings()
		if !strings.Contains(page.Body, `id="email-verified">Yes, since`) || strings.Contains(page.Body, "Verify my email") {
			t.Fatalf("settings after verifying:\n%s", page.Body)
		}
		if user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); user.EmailVerifiedAt == nil {
			t.Fatalf("admin view = %v, want email_verified_at", user)
		}
	})

	t.Run("the password changes with the current one and the rules", func(t *testing.T) {
		form := func(current, next, again string) url.Values {
			return url.Values{"current": {current}, "new": {next}, "confirm": {again}}
		}
		wantSecurityPage(t, ada.change("/password", form("wrong", "a new password 1", "a new password 1")),
			http.StatusUnprocessableEntity, "That is not your current password.")
		wantSecurityPage(t, ada.change("/password", form("correct horse battery", "a new password 1", "another")),
			http.StatusUnprocessableEntity, "The two new passwords are not the same.")
		wantSecurityPage(t, ada.change("/password", form("correct horse battery", "password123", "password123")),
			http.StatusUnprocessableEntity, "Your password was not changed.", apitest.RefusedCommon)
		wantSecurityPage(t, ada.change("/password", form("correct horse battery", "a new password 1", "a new password 1")),
			http.StatusOK, "Your password is changed.")
		n := h.outbox.notice(t, "ada@example.com", store.NoticePasswordChanged)
		if !strings.Contains(n.Text, "127.0.0.1") {
			t.Fatalf("notice = %+v", n)
		}
		if got := h.AuditTypes("authid=ada&type=password.changed"); len(got) != 1 {
			t.Fatalf("password.changed = %v", got)
		}
	})

	t.Run("two-factor resets, then a new app is enrolled here", func(t *testing.T) {
		wantSecurityPage(t, ada.change("/reset-two-factor", nil), http.StatusUnprocessableEntity, "Tick the box")
		res := ada.change("/reset-two-factor", url.Values{"confirm": {"yes"}})
		wantSecurityPage(t, res, http.StatusOK, "Two-step verification is reset", `id="totp-status">Not set up`, "Set up an authenticator app", `id="reset-at">`)
		h.outbox.notice(t, "ada@example.com", store.NoticeTwoFactorReset)
		enrol := ada.change("/totp", nil)
		wantSecurityPage(t, enrol, http.StatusOK, `<img id="qr" src="data:image/png;base64,`, `id="totp-key"`)
		seed = strings.ReplaceAll(keyPattern.FindStringSubmatch(enrol.Body)[1], " ", "")
		wantSecurityPage(t, ada.change("/totp/confirm", url.Values{"code": {"000000"}}), http.StatusUnprocessableEntity, "That code does not match")
		done := ada.change("/totp/confirm", url.Values{"code": {codeOf(t, seed)}})
		wantSecurityPage(t, done, http.StatusOK, "Your authenticator app is set up.", "Your new recovery codes", `id="totp-status">On since`)
		if n := len(recoveryPattern.FindAllString(done.Body, -1)); n != 10 {
			t.Fatalf("%d recovery codes shown", n)
		}
		h.outbox.notice(t, "ada@example.com", store.NoticeTOTPEnabled)
		// An active authenticator is never replaced.
		wantSecurityPage(t, ada.change("/totp", nil), http.StatusConflict, "You already have an authenticator app.")
	})

	t.Run("sensitive changes need a sign-in within 10 minutes", func(t *testing.T) {
		t.Cleanup(func() { h.skew.Store(0) })
		h.skew.Store(int64(11 * time.Minute))
		page, _ := ada.settings()
		wantSecurityPage(t, page, http.StatusOK, "asks you to sign in again first")
		for _, path := range []string{"/recovery-codes", "/reset-two-factor", "/password", "/totp"} {
			res := ada.change(path, url.Values{"confirm": {"yes"}, "current": {"a new password 1"}, "new": {"x1234567"}, "confirm-new": {"x"}})
			wantSecurityPage(t, res, http.StatusForbidden, "Sign in again to make this change", "Nothing was changed", `value="ada@example.com"`)
		}
		if user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); !user.TOTPEnabled {
			t.Fatal("a stale session reset two-factor")
		}
		// Idle for 30 minutes (since the page above), the session is over.
		h.skew.Store(int64(42 * time.Minute))
		wantSecurityPage(t, ada.get(ada.base), http.StatusOK, "Sign in to your security settings")
	})

	t.Run("signing in again makes changes possible; signing out ends the session", func(t *testing.T) {
		fresh := newSecurity(t, h)
		fresh.signInFully("a new password 1", seed)
		wantSecurityPage(t, fresh.change("/recovery-codes", nil), http.StatusOK, "You have new recovery codes.")
		res := fresh.change("/sign-out", nil)
		wantSecurityPage(t, res, http.StatusOK, "You are signed out.", "Sign in to your security settings")
		wantSecurityPage(t, fresh.get(fresh.base), http.StatusOK, "Sign in to your security settings")
	})

	t.Run("every change is audited as the user's, with no secret", func(t *testing.T) {
		events := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?authid=ada&system=@security", nil, http.StatusOK)
		raw := h.Do(http.MethodGet, "/v1/admin/audit?authid=ada", h.AdminKey, nil).Body
		for _, secret := range append([]string{"correct horse battery", "a new password 1", seed}, codes...) {
			if strings.Contains(raw, secret) {
				t.Fatalf("the audit trail holds a secret")
			}
		}
		types := map[string]bool{}
		for _, ev := range events.Events {
			types[ev.Type] = true
			if d := ev.Detail; strings.Contains(ev.Type, ".") && d != nil && d["actor"] != nil && d["actor"] != "user:ada" {
				t.Errorf("event %v has actor %v", ev.Type, d["actor"])
			}
		}
		for _, want := range []string{"security.signed_in", "recovery_codes.generated", "verify_email.requested", "password.changed", "password.change_refused",
			"totp.reset", "totp.enrolment_started", "totp.enrolled", "security.signed_out"} {
			if !types[want] {
				t.Errorf("no %s event in %v", want, types)
			}
		}
	})
}

func TestTooManyWrongCurrentPasswordsEndTheSession(t *testing.T) {
	h := newHarness(t)
	passwordUser(t, h)
	ada := newSecurity(t, h)
	ada.signInFully("correct horse battery", "")
	var res apitest.Response
	for range 5 {
		res = ada.change("/password", url.Values{"current": {"guess"}, "new": {"a new password 1"}, "confirm": {"a new password 1"}})
	}
	wantSecurityPage(t, res, http.StatusUnauthorized, "you are signed out")
	wantSecurityPage(t, ada.get(ada.base), http.StatusOK, "Sign in to your security settings")
}

func TestRecoverByEmailFromTheTOTPStep(t *testing.T) {
	h := newHarness(t)
	_, _ = enrolledAda(t, h)
	b := newSecurity(t, h)
	startAt := func() string {
		t.Helper()
		_, page := startPassword(t, h)
		res := b.post(page, url.Values{"step": {"password"}, "password": {"correct horse battery"}})
		wantPage(t, res, http.StatusOK, "Two-step verification")
		if strings.Contains(res.Body, "Email me a link") != verified(t, h) {
			t.Fatalf("the TOTP step offers a link: %v, want %v", !verified(t, h), verified(t, h))
		}
		return page
	}

	t.Run("not offered, nor taken, without a verified address", func(t *testing.T) {
		page := startAt()
		res := b.post(page, url.Values{"step": {"email-link"}})
		wantPage(t, res, http.StatusConflict, "Your email address cannot be used to sign in this time.")
	})

	verifyAda(t, h)

	attemptID, page := startPassword(t, h)
	b.post(page, url.Values{"step": {"password"}, "password": {"correct horse battery"}})
	res := b.post(page, url.Values{"step": {"email-link"}})
	wantPage(t, res, http.StatusOK, "Check your email", "We sent a link to ada@example.com", `id="code-form"`)
	link := h.outbox.linkTo(t, "ada@example.com", h.URL+attempt.RecoverPath, 1)

	t.Run("the link works only in the browser that gave the password", func(t *testing.T) {
		other := newPageBrowser(t)
		wantPage(t, other.get(link), http.StatusForbidden, "Open this link in the browser where you typed your password")
		wantPage(t, other.post(link, url.Values{"step": {"recover"}}), http.StatusForbidden, "Open this link in the browser")
		// Nor does the GET alone change anything (mail scanners).
		if user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); !user.TOTPEnabled {
			t.Fatal("opening the link changed something")
		}
	})

	var enrol apitest.Response
	t.Run("confirmed, it resets two-factor and enrolment signs in", func(t *testing.T) {
		wantPage(t, b.get(link), http.StatusOK, "Set up a new authenticator app", "Remove my authenticator app")
		enrol = b.post(link, url.Values{"step": {"recover"}})
		wantPage(t, enrol, http.StatusOK, "Set up your authenticator app", `id="totp-key"`)
		h.Expect("/v1/check", req{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusAccepted, "pending")
		user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK)
		if user.TOTPEnabled || user.EmailVerifiedAt != nil || user.TwoFactorResetAt == nil || user.RecoveryCodesLeft != 0 {
			t.Fatalf("ada after recovery = %v", user)
		}
		// The enrolment goes on at the link's URL (its form posts there).
		done := b.post(link, url.Values{"step": {"enrol"}, "code": {totpNow(t, enrol.Body)}})
		wantPage(t, done, http.StatusOK, "You are signed in to portal", "Your recovery codes")
		h.Expect("/v1/check", req{"system": "portal", "authid": "ada", "attempt": attemptID}, http.StatusOK, "authenticated")
		n := h.outbox.notice(t, "ada@example.com", store.NoticeRecoveredByEmail)
		if !strings.Contains(n.Subject, "replaced by email") {
			t.Fatalf("notice = %+v", n)
		}
		types := strings.Join(h.AuditTypes("authid=ada"), ",")
		for _, want := range []string{"recover.requested", "recover.used", "totp.reset", "totp.enrolled"} {
			if !strings.Contains(types, want) {
				t.Errorf("audit %s lacks %s", types, want)
			}
		}
	})

	t.Run("the link and the address stand in once", func(t *testing.T) {
		if res := b.post(link, url.Values{"step": {"recover"}}); res.Status == http.StatusOK && strings.Contains(res.Body, "totp-key") {
			t.Fatalf("the link worked twice:\n%s", res.Body)
		}
		page := startAt() // asserts no link is offered: the address is no longer verified
		res := b.post(page, url.Values{"step": {"email-link"}})
		wantPage(t, res, http.StatusConflict, "Your email address cannot be used")
	})
}

// verified reports whether ada's address is verified.
func verified(t *testing.T, h *harness) bool {
	t.Helper()
	return adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK).EmailVerifiedAt != nil
}

// verifyAda verifies ada's address with a link, as her settings do, with
// the store (her settings' own test walks the page).
func verifyAda(t *testing.T, h *harness) {
	t.Helper()
	u, err := h.Store.GetUser(t.Context(), deploytest.Account, "ada")
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Store.DB().NewUpdate().Model((*store.User)(nil)).Set("email_verified_at = ?", time.Now().UTC()).Where("id = ?", u.ID).Exec(t.Context())
	if err != nil {
		t.Fatal(err)
	}
}

func TestTheSecuritySystemIsReserved(t *testing.T) {
	h := newHarness(t)
	passwordUser(t, h)
	h.Expect("/v1/start", req{"system": "@security", "authid": "ada"}, http.StatusForbidden, "security error")
	h.Expect("/v1/check", req{"system": "@security", "authid": "ada"}, http.StatusForbidden, "security error")
	res := h.Do(http.MethodPost, "/v1/admin/systems", h.AdminKey, req{"name": "@security", "methods": []string{"password"}, "sensitivity": "low", "ttl_seconds": 300})
	if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "may hold only letters") {
		t.Fatalf("creating @security = %d %s", res.Status, res.Body)
	}
	if got := h.AuditTypes("authid=ada&system=@security&type=attempt.started"); len(got) != 0 {
		t.Fatalf("the app API started %d attempts of the reserved system", len(got))
	}
}

func TestAdministratorsChangesAreDatedAndNoticed(t *testing.T) {
	h := newHarness(t)
	enrolledAda(t, h)
	user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK)
	if user.TOTPEnabledAt == nil || user.TwoFactorResetAt != nil {
		t.Fatalf("ada = %v, want enrolled, never reset", user)
	}
	h.outbox.notice(t, "ada@example.com", store.NoticeTOTPEnabled)
	if res := h.Do(http.MethodDelete, "/v1/admin/users/ada/totp", h.AdminKey, nil); res.Status != http.StatusNoContent {
		t.Fatalf("reset = %d %s", res.Status, res.Body)
	}
	user = adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK)
	if user.TOTPEnabled || user.TOTPEnabledAt != nil || user.TwoFactorResetAt == nil {
		t.Fatalf("ada after the administrator's reset = %v", user)
	}
	n := h.outbox.notice(t, "ada@example.com", store.NoticeTwoFactorReset)
	if !strings.Contains(n.Text, "by an administrator of Acme") {
		t.Fatalf("notice = %+v", n)
	}
	// A new address is not verified.
	verifyAda(t, h)
	h.Admin(http.MethodPatch, "/v1/admin/users/ada", req{"email": "ada@new.example"}, http.StatusOK)
	if verified(t, h) {
		t.Fatal("a new address kept the old one's verification")
	}
}

// A reset link lets the mailbox stand in for the password; it must not then
// stand in for the authenticator as well. Whoever holds only the mailbox
// (forgot password, reset, sign in with the new password) finds no "Email me
// a link" at the TOTP step, and the step itself is refused: the reset
// un-verified the address, and verifying it again takes both factors.
func TestAResetPasswordDoesNotLetTheMailboxRecoverTheAuthenticator(t *testing.T) {
	h := newHarness(t)
	_, _ = enrolledAda(t, h)
	verifyAda(t, h)
	if !verified(t, h) {
		t.Fatal("ada's address is not verified")
	}
	forgot(t, h, "acme", "ada@example.com")
	link := h.outbox.linkTo(t, "ada@example.com", h.URL+"/r/", 1)
	wantPage(t, submitPassword(t, link, "a mailbox reader's", "a mailbox reader's"), http.StatusOK, "Your password is changed")
	if verified(t, h) {
		t.Fatal("the address is still verified after a reset")
	}
	if events := auditEvents(h, "authid=ada&type=password.reset"); len(events) != 1 {
		t.Fatalf("password.reset events = %v", events)
	}

	b := newSecurity(t, h)
	_, page := startPassword(t, h)
	res := b.post(page, url.Values{"step": {"password"}, "password": {"a mailbox reader's"}})
	wantPage(t, res, http.StatusOK, "Two-step verification")
	if strings.Contains(res.Body, "Email me a link") {
		t.Fatal("the TOTP step offers an email link after a reset")
	}
	wantPage(t, b.post(page, url.Values{"step": {"email-link"}}), http.StatusConflict, "Your email address cannot be used")
	if n := len(h.AuditTypes("authid=ada&type=recover.requested")); n != 0 {
		t.Fatalf("%d recover.requested events, want none", n)
	}
}

// A new password ends the sessions the old one opened: changing it in the
// settings ends the user's other sessions (the one making the change goes
// on), and a reset link ends them all.
func TestANewPasswordEndsTheOtherSessions(t *testing.T) {
	h := newHarness(t)
	seed, codes := enrolledAda(t, h)
	signedIn := func(b *security) bool {
		t.Helper()
		res := b.get(b.base)
		return res.Status == http.StatusOK && !strings.Contains(res.Body, "Sign in to your security settings")
	}
	one := newSecurity(t, h)
	one.signInFully("correct horse battery", seed)
	// The other signs in with a recovery code: the authenticator's codes
	// of this minute are spent.
	other := newSecurity(t, h)
	res := other.signIn("ada@example.com", "correct horse battery")
	page := h.URL + res.Header.Get("Location")
	wantPage(t, other.post(page, url.Values{"step": {"totp"}, "code": {codes[0]}}), http.StatusOK, "You are signed in to your security settings")
	if !signedIn(one) || !signedIn(other) {
		t.Fatal("the two sessions are not both open")
	}

	res = one.change("/password", url.Values{"current": {"correct horse battery"}, "new": {"a new password 1"}, "confirm": {"a new password 1"}})
	wantSecurityPage(t, res, http.StatusOK, "Your password is changed.")
	if !signedIn(one) {
		t.Fatal("the session that changed the password was ended")
	}
	if signedIn(other) {
		t.Fatal("another session outlived the password change")
	}

	forgot(t, h, "acme", "ada@example.com")
	link := h.outbox.linkTo(t, "ada@example.com", h.URL+"/r/", 1)
	wantPage(t, submitPassword(t, link, "a new password 2", "a new password 2"), http.StatusOK, "Your password is changed")
	if signedIn(one) {
		t.Fatal("a session outlived the password reset")
	}
}

// The console's sign-ins start only from the console: an application's
// start for an administrator would supersede their sign-in in progress (the
// workflow ID is the account's, the system's and the authid's).
func TestTheConsoleSystemIsNoApplications(t *testing.T) {
	h := newHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "console", "methods": []string{"passwordless"}}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "root", "name": "Root", "email": "root@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/root/systems", req{"assignments": []req{{"system": "console", "method": "passwordless"}}}, http.StatusOK)
	h.Expect("/v1/start", req{"system": "console", "authid": "root"}, http.StatusForbidden, "security error")
	h.Expect("/v1/check", req{"system": "console", "authid": "root"}, http.StatusForbidden, "security error")
	if got := h.AuditTypes("authid=root&system=console&type=attempt.started"); len(got) != 0 {
		t.Fatalf("the app API started %d console attempts", len(got))
	}
}
