package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/password"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

const (
	resetGoneTitle = "This link has expired or was already used"
	forgotSentSays = "Check your email"
)

// forgot posts the "Forgot password?" form of account for email, as the
// page's own form does, and waits for the work done after the answer.
func forgot(t *testing.T, h *harness, account, email string) apitest.Response {
	t.Helper()
	res := postForm(t, h.URL+api.ForgotPath+account, url.Values{"email": {email}}, "")
	api.WaitForgotWork(h.API)
	return res
}

// postForm posts a form from origin (the page's own when "").
func postForm(t *testing.T, link string, form url.Values, origin string) apitest.Response {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, link, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin == "" {
		origin = r.URL.Scheme + "://" + r.URL.Host
	}
	r.Header.Set("Origin", origin)
	return sendRequest(t, r)
}

// resetFor waits for the n-th message to email and checks that it carries
// a reset link of the deployment.
func resetFor(t *testing.T, h *harness, email string, n int) sdk.SendRequest {
	t.Helper()
	msg := h.outbox.sentTo(t, email, n)
	if msg.Channel != "email" || !strings.HasPrefix(msg.Link, h.URL+"/r/") || !strings.Contains(msg.Text, msg.Link) ||
		msg.Subject != "Reset your password for Acme" {
		t.Fatalf("message %d to %s = %+v, want a reset link by email", n, email, msg)
	}
	return msg
}

// withPassword creates a user with email and password sign-in whose
// password is set through the welcome link (message 1 to the user).
func withPassword(t *testing.T, h *harness, authid, plain string) {
	t.Helper()
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "name": "User " + authid, "email": authid + "@example.com", "email_password_login": true}, http.StatusCreated)
	msg := welcomeFor(t, h, authid+"@example.com", 1)
	wantPage(t, submitPassword(t, msg.Link, plain, plain), http.StatusOK, "Your password is set")
}

// enrolTOTP enrols an authenticator for the user through the admin API and
// gives them recovery codes.
//
// It writes the store directly rather than through the admin API, whose
// enrolment sends the user notices: the tests here count the messages a
// reset sends.
func enrolTOTP(t *testing.T, h *harness, authid string) {
	t.Helper()
	ctx := t.Context()
	u, err := h.Store.GetUser(ctx, deploytest.Account, authid)
	if err != nil {
		t.Fatal(err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "flexauth", AccountName: authid})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := h.Keys.Seal([]byte(key.Secret()), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := h.Store.SetTOTPPending(ctx, u.ID, sealed, now); err != nil {
		t.Fatal(err)
	}
	if err := h.Store.ActivateTOTP(ctx, u.ID, sealed, 0, now); err != nil {
		t.Fatal(err)
	}
	codes := make([]store.RecoveryCode, 10)
	for i := range codes {
		code, err := secret.NewRecoveryCode()
		if err != nil {
			t.Fatal(err)
		}
		canonical, _ := secret.NormalizeRecoveryCode(code)
		codes[i] = store.RecoveryCode{ID: uuid.NewString(), UserID: u.ID, Digest: attempt.RecoveryDigest(h.Keys, canonical), CreatedAt: now}
	}
	if err := h.Store.ReplaceRecoveryCodes(ctx, u.ID, codes); err != nil {
		t.Fatal(err)
	}
}

func TestForgotPasswordAnswersTheSameForEveryone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	allowEmailLogin(h)
	withPassword(t, h, "ada", "correct horse battery")
	withPassword(t, h, "eve", "correct horse battery")
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "bob", "email": "bob@example.com"}, http.StatusCreated)                             // no switch
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "cy", "email": "cy@example.com", "email_password_login": true}, http.StatusCreated) // no password yet
	welcomeFor(t, h, "cy@example.com", 1)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "dis", "email": "dis@example.com", "email_password_login": true}, http.StatusCreated)
	welcomeFor(t, h, "dis@example.com", 1)
	h.Admin(http.MethodPatch, "/v1/admin/users/dis", req{"status": "disabled"}, http.StatusOK)

	t.Run("the form is the same for every account and labels its field", func(t *testing.T) {
		known := h.Page(http.MethodGet, h.URL+"/forgot/acme")
		wantPage(t, known, http.StatusOK, "Forgot your password?", `<label for="email">Email address</label>`,
			`type="email" id="email" name="email" autocomplete="email" required`, `<button type="submit">`, "signing in still asks for its code")
		if unknown := h.Page(http.MethodGet, h.URL+"/forgot/nobody"); unknown.Body != known.Body || unknown.Status != known.Status {
			t.Fatal("an unknown account's form differs from a known one's")
		}
	})

	t.Run("every address gets the same answer, byte for byte", func(t *testing.T) {
		cases := []struct{ account, email string }{
			{"acme", "ada@example.com"},    // known, with a password: a reset link
			{"acme", "EVE@Example.com"},    // known, in another case
			{"acme", "cy@example.com"},     // known, no password yet: a welcome link
			{"acme", "bob@example.com"},    // known, without email and password sign-in
			{"acme", "dis@example.com"},    // known, disabled
			{"acme", "nobody@example.com"}, // unknown
			{"nobody", "ada@example.com"},  // unknown account
		}
		first := forgot(t, h, cases[0].account, cases[0].email)
		wantPage(t, first, http.StatusOK, forgotSentSays)
		for _, c := range cases[1:] {
			res := forgot(t, h, c.account, c.email)
			if res.Status != first.Status || res.Body != first.Body {
				t.Fatalf("%s at %s: %d %q, want %d and the same body as for ada", c.email, c.account, res.Status, res.Body, first.Status)
			}
			if strings.Contains(res.Body, c.email) {
				t.Fatal("the answer repeats the address")
			}
		}
	})

	t.Run("a known address with a password gets a reset link, one without a password a welcome link, the others nothing", func(t *testing.T) {
		resetFor(t, h, "ada@example.com", 2)
		resetFor(t, h, "eve@example.com", 2)
		welcomeFor(t, h, "cy@example.com", 2)
		time.Sleep(200 * time.Millisecond)
		for email, want := range map[string]int{"ada@example.com": 2, "eve@example.com": 2, "cy@example.com": 2, "bob@example.com": 0, "dis@example.com": 1, "nobody@example.com": 0} {
			if n := h.outbox.countTo(email); n != want {
				t.Errorf("%d messages to %s, want %d", n, email, want)
			}
		}
		events := auditEvents(h, "authid=ada&type=reset.requested")
		d := events[0].Detail
		if len(events) != 1 || d["actor"] != "anonymous" || d["source"] != "forgot" || events[0].IP != "127.0.0.1" {
			t.Fatalf("ada's reset.requested = %v, want one (the unknown account's form sent nothing)", events)
		}
		if n := len(h.AuditTypes("authid=ada&type=reset.sent")); n != 1 {
			t.Fatalf("reset.sent events = %d, want 1", n)
		}
		for _, authid := range []string{"bob", "dis"} {
			if n := len(h.AuditTypes("authid=" + authid + "&type=reset.refused")); n != 1 {
				t.Fatalf("%s: reset.refused events = %d, want 1", authid, n)
			}
		}
	})

	t.Run("at most three links an hour go to a user, silently", func(t *testing.T) {
		// Ada had her welcome link and a reset link this hour: one more.
		forgot(t, h, "acme", "ada@example.com")
		resetFor(t, h, "ada@example.com", 3)
		wantPage(t, forgot(t, h, "acme", "ada@example.com"), http.StatusOK, forgotSentSays)
		time.Sleep(300 * time.Millisecond)
		if n := h.outbox.countTo("ada@example.com"); n != 3 {
			t.Fatalf("%d messages to ada, want still 3", n)
		}
		if n := len(h.AuditTypes("authid=ada&type=reset.limited")); n != 1 {
			t.Fatalf("reset.limited events = %d, want 1", n)
		}
		h.skew.Store(int64(time.Hour + time.Minute))
		t.Cleanup(func() { h.skew.Store(0) })
		forgot(t, h, "acme", "ada@example.com")
		resetFor(t, h, "ada@example.com", 4)
		h.skew.Store(0)
	})

	t.Run("refusals depend only on what was typed", func(t *testing.T) {
		for _, c := range []struct{ email, says string }{
			{"", "Type your email address."},
			{"   ", "Type your email address."},
			{"ada", "Type a whole email address"},
			{"ada@", "Type a whole email address"},
			{"a b@example.com", "no spaces"},
			{strings.Repeat("a", 250) + "@example.com", "at most 254 characters"},
		} {
			res := postForm(t, h.URL+"/forgot/acme", url.Values{"email": {c.email}}, "")
			wantPage(t, res, http.StatusUnprocessableEntity, c.says, `role="alert"`, `aria-invalid="true"`)
		}
		cross := postForm(t, h.URL+"/forgot/acme", url.Values{"email": {"ada@example.com"}}, "https://evil.example")
		wantPage(t, cross, http.StatusForbidden)
		api.WaitForgotWork(h.API)
		time.Sleep(100 * time.Millisecond)
		if n := h.outbox.countTo("ada@example.com"); n != 4 {
			t.Fatalf("%d messages to ada after refused forms, want 4", n)
		}
	})
}

func TestForgotPasswordIsLimitedPerClientIP(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true, configure: func(c *api.Config) {
		c.BrowserIPLimit = api.IPLimit{PerSecond: 0.01, Burst: 2}
	}})
	for i := range 2 {
		if res := postForm(t, h.URL+"/forgot/acme", url.Values{"email": {"x@example.com"}}, ""); res.Status != http.StatusOK {
			t.Fatalf("request %d = %d", i, res.Status)
		}
	}
	wantPage(t, postForm(t, h.URL+"/forgot/acme", url.Values{"email": {"x@example.com"}}, ""), http.StatusTooManyRequests, "Too many requests")
	wantPage(t, h.Page(http.MethodGet, h.URL+"/forgot/acme"), http.StatusTooManyRequests)
}

func TestResetLinkSetsANewPasswordOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	allowEmailLogin(h)
	withPassword(t, h, "ada", "correct horse battery")
	enrolTOTP(t, h, "ada")
	before := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK)
	forgot(t, h, "acme", "ada@example.com")
	msg := resetFor(t, h, "ada@example.com", 2)
	if !strings.Contains(msg.Text, "expires in 60 minutes") {
		t.Fatalf("text = %q", msg.Text)
	}

	t.Run("its page asks for the new password and says it signs nobody in", func(t *testing.T) {
		res := h.Page(http.MethodGet, msg.Link)
		wantPage(t, res, http.StatusOK, "Choose a new password for Acme", "At least 8 characters.", `<label for="password">`, `<label for="confirm">`,
			"ada@example.com", "it does not sign you in, and your authenticator app and recovery codes stay as they are")
	})

	for _, r := range []struct{ name, password, again, says string }{
		{"two different passwords", "a brand new secret", "a brand new secret!", "The two passwords are not the same"},
		{"a short one", "short", "short", apitest.RefusedShort},
		{"a common one", "password123", "password123", apitest.RefusedCommon},
		{"the user's email", "ada@example.com", "ada@example.com", apitest.RefusedEmail},
	} {
		t.Run("refused with its reason: "+r.name, func(t *testing.T) {
			wantPage(t, submitPassword(t, msg.Link, r.password, r.again), http.StatusUnprocessableEntity, "Your password was not set.", r.says, `role="alert"`)
			if got, _ := h.Store.GetUser(t.Context(), deploytest.Account, "ada"); got.PasswordHash != apitest.TestHash("correct horse battery") {
				t.Fatal("a refused password replaced the old one")
			}
		})
	}

	t.Run("a form from another site is refused", func(t *testing.T) {
		res := postForm(t, msg.Link, url.Values{"password": {"a brand new secret"}, "confirm": {"a brand new secret"}}, "https://evil.example")
		if res.Status != http.StatusForbidden {
			t.Fatalf("cross-site post = %d", res.Status)
		}
	})

	t.Run("a good password replaces the old one, leaves the second factor, and is told to the user", func(t *testing.T) {
		res := submitPassword(t, msg.Link, "a brand new secret", "a brand new secret")
		wantPage(t, res, http.StatusOK, "Your password is changed", "You are not signed in", "still asks for a code")
		if strings.Contains(res.Header.Get("Set-Cookie"), "=") {
			t.Fatalf("the reset set a cookie: %s", res.Header.Get("Set-Cookie"))
		}
		stored, err := h.Store.GetUser(t.Context(), deploytest.Account, "ada")
		if err != nil {
			t.Fatal(err)
		}
		if stored.PasswordHash != apitest.TestHash("a brand new secret") {
			t.Fatal("the new password is not stored")
		}
		after := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK)
		if after.PasswordChangedAt == nil || !after.TOTPEnabled || after.RecoveryCodesLeft != before.RecoveryCodesLeft {
			t.Fatalf("ada after the reset = %v, want the password changed and TOTP and %v recovery codes kept", after, before.RecoveryCodesLeft)
		}
		notice := h.outbox.sentTo(t, "ada@example.com", 3)
		if notice.Subject != "Your password for Acme was changed" || notice.Link != "" || !strings.Contains(notice.Text, "127.0.0.1") ||
			!strings.Contains(notice.Text, time.Now().UTC().Format("2 January 2006")) {
			t.Fatalf("notice = %+v", notice)
		}
		events := auditEvents(h, "authid=ada&type=password.reset")
		if len(events) != 1 || events[0].Detail["actor"] != "user:ada" || events[0].IP != "127.0.0.1" {
			t.Fatalf("password.reset events = %v", events)
		}
		for deadline := time.Now().Add(10 * time.Second); len(h.AuditTypes("authid=ada&type=notice.sent")) != 1; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no notice.sent event within 10s")
			}
		}
		raw := h.Do(http.MethodGet, "/v1/admin/audit?authid=ada", h.AdminKey, nil).Body
		if strings.Contains(raw, "a brand new secret") || strings.Contains(raw, strings.TrimPrefix(msg.Link, h.URL+"/r/")) {
			t.Fatal("the audit trail holds the password or the link's token")
		}
	})

	t.Run("the used link is gone, like an unknown one", func(t *testing.T) {
		gone := h.Page(http.MethodGet, msg.Link)
		wantPage(t, gone, http.StatusGone, resetGoneTitle, "Forgot password?")
		wantPage(t, submitPassword(t, msg.Link, "yet another secret", "yet another secret"), http.StatusGone, resetGoneTitle)
		if unknown := h.Page(http.MethodGet, h.URL+"/r/"+strings.Repeat("A", 43)); unknown.Body != gone.Body || unknown.Status != http.StatusGone {
			t.Fatal("an unknown reset link gets another page")
		}
		// A welcome token is no reset token, nor the other way round.
		if welcome := h.Page(http.MethodGet, strings.Replace(msg.Link, "/r/", "/w/", 1)); welcome.Status != http.StatusGone {
			t.Fatalf("the reset token on the welcome page = %d", welcome.Status)
		}
	})

	t.Run("a newer link voids the older, and a link expires after an hour", func(t *testing.T) {
		forgot(t, h, "acme", "ada@example.com")
		older := resetFor(t, h, "ada@example.com", 4)
		h.Admin(http.MethodPost, "/v1/admin/users/ada/password-reset", nil, http.StatusAccepted)
		newer := resetFor(t, h, "ada@example.com", 5)
		wantPage(t, h.Page(http.MethodGet, older.Link), http.StatusGone, resetGoneTitle)
		wantPage(t, h.Page(http.MethodGet, newer.Link), http.StatusOK, "Choose a new password")
		t.Cleanup(func() { h.skew.Store(0) })
		h.skew.Store(int64(61 * time.Minute))
		wantPage(t, h.Page(http.MethodGet, newer.Link), http.StatusGone, resetGoneTitle)
		wantPage(t, submitPassword(t, newer.Link, "yet another secret", "yet another secret"), http.StatusGone, resetGoneTitle)
	})
}

func TestAdministratorsSendResetOrWelcome(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	allowEmailLogin(h)
	withPassword(t, h, "ada", "correct horse battery")
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "cy", "email": "cy@example.com", "email_password_login": true}, http.StatusCreated)
	welcomeFor(t, h, "cy@example.com", 1)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "bob", "email": "bob@example.com"}, http.StatusCreated)

	t.Run("resend on a selection says which link each got", func(t *testing.T) {
		out := adminAs[apitest.EmailLoginResults](h, http.MethodPost, "/v1/admin/users/email-login", req{"authids": []string{"ada", "cy", "bob"}, "action": "resend"}, http.StatusOK)
		want := []apitest.EmailLoginResultsResult{{Authid: "ada", Link: "reset", Result: "resent"}, {Authid: "cy", Link: "welcome", Result: "resent"},
			{Authid: "bob", Error: "email and password sign-in is off for this user; enable it first", Result: "error", Status: 409}}
		if !slices.Equal(out.Results, want) {
			t.Fatalf("results = %v", out.Results)
		}
		resetFor(t, h, "ada@example.com", 2)
		welcomeFor(t, h, "cy@example.com", 2)
		events := auditEvents(h, "authid=ada&type=reset.requested")
		d := events[0].Detail
		if len(events) != 1 || d["actor"] != "key:"+adminKeyID(h) || d["source"] != "selection" ||
			fmt.Sprint(events[0].Reasons) != "[password reset sent by an administrator]" {
			t.Fatalf("reset.requested = %v", events)
		}
	})

	t.Run("one user's route answers 202 with the link", func(t *testing.T) {
		if got := adminAs[apitest.PasswordResetSent](h, http.MethodPost, "/v1/admin/users/ada/password-reset", nil, http.StatusAccepted); got != (apitest.PasswordResetSent{Link: "reset"}) {
			t.Fatalf("ada = %v", got)
		}
		resetFor(t, h, "ada@example.com", 3)
		if got := adminAs[apitest.PasswordResetSent](h, http.MethodPost, "/v1/admin/users/cy/password-reset", nil, http.StatusAccepted); got != (apitest.PasswordResetSent{Link: "welcome"}) {
			t.Fatalf("cy = %v", got)
		}
		welcomeFor(t, h, "cy@example.com", 3)
	})

	t.Run("refusals", func(t *testing.T) {
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/ghost/password-reset", h.AdminKey, nil), http.StatusNotFound, `user "ghost" not found`)
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/bob/password-reset", h.AdminKey, nil), http.StatusConflict, "email and password sign-in is off for this user")
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_delivery": false}, http.StatusOK)
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/ada/password-reset", h.AdminKey, nil), http.StatusConflict, "email delivery is off for the account")
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_delivery": true}, http.StatusOK)
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_password_login": false, "confirm_affected_users": 2}, http.StatusOK)
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/ada/password-reset", h.AdminKey, nil), http.StatusConflict, msgAccountOff)
		if n := h.outbox.countTo("ada@example.com"); n != 3 {
			t.Fatalf("%d messages to ada, want 3", n)
		}
	})
}

func TestAccountSwitchOffDeletesCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	allowEmailLogin(h)
	h.Setup("wiki", []string{"passwordless", "totp"}, "low", "dan", "totp") // the app's TOTP user, without email and password sign-in
	enrolTOTP(t, h, "dan")
	withPassword(t, h, "ada", "correct horse battery")
	enrolTOTP(t, h, "ada")
	h.Admin(http.MethodPut, "/v1/admin/users/ada/systems", req{"assignments": []req{{"system": "wiki", "method": "passwordless"}}}, http.StatusOK)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "cy", "email": "cy@example.com", "email_password_login": true}, http.StatusCreated)
	cyWelcome := welcomeFor(t, h, "cy@example.com", 1)

	t.Run("without confirming the count of users affected, 409 says it", func(t *testing.T) {
		for _, body := range []req{
			{"email_password_login": false},
			{"email_password_login": false, "confirm_affected_users": 1},
			{"email_password_login": false, "confirm_affected_users": 3},
		} {
			res := h.Do(http.MethodPatch, "/v1/admin/account", h.AdminKey, body)
			if res.Status != http.StatusConflict {
				t.Fatalf("PATCH %v = %d %s, want 409", body, res.Status, res.Body)
			}
			got := apitest.Decode[apitest.AffectedUsers](t, res)
			if got.AffectedUsers != 2 ||
				!strings.Contains(got.Error, "deletes the passwords, authenticator apps and recovery codes of 2 users") {
				t.Fatalf("%v = %d %s", body, res.Status, res.Body)
			}
		}
		for _, c := range []struct {
			body req
			says string
		}{
			{req{"email_password_login": true, "confirm_affected_users": 2}, "confirm_affected_users confirms turning email_password_login off"},
			{req{"email_delivery": false, "confirm_affected_users": 2}, "confirm_affected_users confirms"},
			{req{"email_password_login": false, "confirm_affected_users": -1}, "confirm_affected_users confirms"},
			{req{"email_password_login": false, "confirm_affected_users": "2"}, "confirm_affected_users"},
		} {
			wantError(t, h.Do(http.MethodPatch, "/v1/admin/account", h.AdminKey, c.body), http.StatusBadRequest, c.says)
		}
		if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.PasswordSetAt == nil || !got.TOTPEnabled {
			t.Fatalf("ada after refused changes = %v", got)
		}
	})

	t.Run("confirmed, it deletes the passwords and second factors of the users concerned, and voids their links", func(t *testing.T) {
		got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account", req{"email_password_login": false, "confirm_affected_users": 2}, http.StatusOK)
		if got.EmailPasswordLogin || !credentialsDeleted(got, apitest.AccountCredentialsDeleted{Authenticators: 1, Links: 1, Passwords: 1, RecoveryCodes: 10, Users: 2}) {
			t.Fatalf("answer = %v", got)
		}
		ada := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK)
		if !ada.EmailPasswordLogin || ada.PasswordSetAt != nil || ada.TOTPEnabled || ada.RecoveryCodesLeft != 0 {
			t.Fatalf("ada = %v, want her switch kept and no credential", ada)
		}
		if stored, _ := h.Store.GetUser(t.Context(), deploytest.Account, "ada"); stored.PasswordHash != "" || stored.TOTPSecret != nil {
			t.Fatal("ada's password or seed is still stored")
		}
		dan := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/dan", nil, http.StatusOK)
		if !dan.TOTPEnabled || dan.RecoveryCodesLeft != 10 {
			t.Fatalf("dan = %v, want his TOTP and codes kept (no switch, no password)", dan)
		}
		wantPage(t, h.Page(http.MethodGet, cyWelcome.Link), http.StatusGone, goneTitle)
		events := auditEvents(h, "type=account.credentials_deleted")
		d := events[0].Detail
		if len(events) != 1 || d["actor"] != "key:"+adminKeyID(h) || d["users"] != float64(2) || d["passwords"] != float64(1) ||
			d["authenticators"] != float64(1) || d["recovery_codes"] != float64(10) || d["links"] != float64(1) {
			t.Fatalf("account.credentials_deleted = %v", events)
		}
		if n := len(h.AuditTypes("type=account.updated")); n != 2 {
			t.Fatalf("account.updated events = %d, want 2 (on, off)", n)
		}
	})

	t.Run("other methods keep working: a link sign-in of the same user authenticates", func(t *testing.T) {
		attemptID := h.Start("wiki", "ada")
		body := req{"system": "wiki", "authid": "ada"}
		h.Expect("/v1/check", body, http.StatusAccepted, "pending")
		link := h.outbox.message(t, attemptID).Link
		if res := h.Page(http.MethodPost, link); res.Status != http.StatusOK {
			t.Fatalf("confirming the link = %d %s", res.Status, res.Body)
		}
		h.Expect("/v1/check", body, http.StatusOK, "authenticated")
	})

	t.Run("on again, each enabled user without a password is sent a welcome link", func(t *testing.T) {
		got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, http.StatusOK)
		if got.WelcomeLinks == nil || *got.WelcomeLinks != 2 {
			t.Fatalf("answer = %v", got)
		}
		again := welcomeFor(t, h, "ada@example.com", 3) // after her welcome and her sign-in link
		welcomeFor(t, h, "cy@example.com", 2)
		events := auditEvents(h, "authid=ada&type=welcome.requested")
		if len(events) != 2 || fmt.Sprint(events[0].Reasons) != "[email and password sign-in turned on again for the account: the user sets a password and enrols again]" {
			t.Fatalf("welcome.requested = %v", events)
		}
		wantPage(t, submitPassword(t, again.Link, "another good one", "another good one"), http.StatusOK, "Your password is set")
		if n := h.outbox.countTo("dan@example.com"); n != 0 {
			t.Fatalf("dan got %d messages", n)
		}
	})

	t.Run("a change affecting nobody needs no confirmation", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/users/email-login", req{"authids": []string{"ada", "cy"}, "action": "disable"}, http.StatusOK)
		// Ada keeps her password with her switch off: still affected.
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/account", h.AdminKey, req{"email_password_login": false}), http.StatusConflict, "of 1 user ")
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_password_login": false, "confirm_affected_users": 1}, http.StatusOK)
		got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, http.StatusOK)
		if got.WelcomeLinks == nil || *got.WelcomeLinks != 0 {
			t.Fatalf("on = %v", got)
		}
		if got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account", req{"email_password_login": false}, http.StatusOK); !credentialsDeleted(got, apitest.AccountCredentialsDeleted{}) {
			t.Fatalf("off with nobody affected = %v", got)
		}
	})
}

// A console session turning the switch off needs a fresh sign-in, like
// every change of the account's settings.
func TestAccountSwitchOffNeedsFreshSignIn(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)
	allowEmailLogin(h)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "email": "ada@example.com", "email_password_login": true}, http.StatusCreated)
	b := newBrowser(t, h)
	b.signIn("root")
	t.Cleanup(func() { h.skew.Store(0) })
	h.skew.Store(int64(11 * time.Minute))
	body := req{"email_password_login": false, "confirm_affected_users": 1}
	if res := b.do(http.MethodPatch, "/v1/admin/account", body, true); res.Status != http.StatusForbidden || res.Body != reauthBody {
		t.Fatalf("stale session = %d %s", res.Status, res.Body)
	}
	h.skew.Store(0)
	if got := apitest.Decode[apitest.Account](t, b.want(b.do(http.MethodPatch, "/v1/admin/account", body, true), http.StatusOK, "", "")); got.EmailPasswordLogin {
		t.Fatalf("fresh session = %v", got)
	}
}

// The whole way back for a user who forgot: "Forgot password?", the
// message in the outbox, the reset page, and the new password is the one
// stored, with flexauth's own rules and argon2id hashing.
func TestForgotPasswordEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{configure: func(c *api.Config) { c.PasswordRules = nil }})
	allowEmailLogin(h)
	const first, second = "lantern orchard 47 quietly", "violet tapestry under nine moons"
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "name": "Ada", "email": "ada@example.com", "email_password_login": true}, http.StatusCreated)
	wantPage(t, submitPassword(t, welcomeFor(t, h, "ada@example.com", 1).Link, first, first), http.StatusOK, "Your password is set")

	wantPage(t, h.Page(http.MethodGet, h.URL+"/forgot/acme"), http.StatusOK, "Forgot your password?")
	wantPage(t, forgot(t, h, "acme", "ada@example.com"), http.StatusOK, forgotSentSays)
	msg := resetFor(t, h, "ada@example.com", 2)
	wantPage(t, h.Page(http.MethodGet, msg.Link), http.StatusOK, "Choose a new password for Acme")
	wantPage(t, submitPassword(t, msg.Link, "password1234", "password1234"), http.StatusUnprocessableEntity, "Your password was not set.")
	wantPage(t, submitPassword(t, msg.Link, second, second), http.StatusOK, "Your password is changed")

	stored, err := h.Store.GetUser(t.Context(), deploytest.Account, "ada")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Fatalf("stored %q, want an argon2id hash", stored.PasswordHash)
	}
	for plain, want := range map[string]bool{second: true, first: false} {
		ok, _, err := password.Verify(plain, stored.PasswordHash)
		if err != nil || ok != want {
			t.Fatalf("Verify(%q) = %v, %v; want %v", plain, ok, err, want)
		}
	}
	if n := h.outbox.sentTo(t, "ada@example.com", 3); n.Subject != "Your password for Acme was changed" {
		t.Fatalf("third message = %+v, want the notice", n)
	}
}

// credentialsDeleted is whether an account answer says it deleted want.
func credentialsDeleted(got apitest.Account, want apitest.AccountCredentialsDeleted) bool {
	return got.CredentialsDeleted != nil && *got.CredentialsDeleted == want
}
