package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

const msgAccountOff = "email and password sign-in is off for the account; an organisation administrator turns it on first"

// allowEmailLogin turns the account's email and password sign-in on.
func allowEmailLogin(h *harness) {
	h.t.Helper()
	if got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, http.StatusOK); !got.EmailPasswordLogin {
		h.t.Fatalf("account = %v", got)
	}
}

// welcomeFor waits for the n-th welcome message to email and returns it,
// checking that it carries a welcome link of the deployment.
func welcomeFor(t *testing.T, h *harness, email string, n int) sdk.SendRequest {
	t.Helper()
	msg := h.outbox.sentTo(t, email, n)
	if msg.Channel != "email" || !strings.HasPrefix(msg.Link, h.URL+"/w/") || !strings.Contains(msg.Text, msg.Link) ||
		msg.Subject != "Create your password for Acme" {
		t.Fatalf("message %d to %s = %+v, want a welcome link by email", n, email, msg)
	}
	return msg
}

// submitPassword posts the welcome form as the page's own form does.
func submitPassword(t *testing.T, link, password, again string) apitest.Response {
	t.Helper()
	form := url.Values{"password": {password}, "confirm": {again}, "username": {"ignored"}}
	r, err := http.NewRequest(http.MethodPost, link, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", r.URL.Scheme+"://"+r.URL.Host)
	return sendRequest(t, r)
}

func sendRequest(t *testing.T, r *http.Request) apitest.Response {
	t.Helper()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: buf.String()}
}

// wantPage checks an end-user page's status, that it says each of says,
// and that it keeps the pages' rules: strict CSP, no script, never cached.
func wantPage(t *testing.T, res apitest.Response, status int, says ...string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("page = %d, want %d:\n%s", res.Status, status, res.Body)
	}
	for _, s := range says {
		if !strings.Contains(res.Body, s) {
			t.Fatalf("page does not say %q:\n%s", s, res.Body)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") || strings.Contains(csp, "script-src") {
		t.Fatalf("CSP = %q", csp)
	}
	if strings.Contains(strings.ToLower(res.Body), "<script") || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the page has a script or may be cached: %s\n%s", res.Header, res.Body)
	}
}

const goneTitle = "This link has expired or was already used"

func TestEmailLoginNeedsTheAccountSwitch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "email": "ada@example.com"}, http.StatusCreated)

	t.Run("while the account's switch is off no user's can be turned on", func(t *testing.T) {
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users", h.AdminKey,
			req{"authid": "bob", "email": "bob@example.com", "email_password_login": true}), http.StatusConflict, msgAccountOff)
		h.Admin(http.MethodGet, "/v1/admin/users/bob", nil, http.StatusNotFound)
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/ada", h.AdminKey, req{"email_password_login": true}), http.StatusConflict, msgAccountOff)
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/email-login", h.AdminKey, req{"authids": []string{"ada"}, "action": "enable"}),
			http.StatusConflict, msgAccountOff)
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/email-login", h.AdminKey, req{"authids": []string{"ada"}, "action": "resend"}),
			http.StatusConflict, msgAccountOff)
		out := importFile(t, h, "format=csv", "", []byte("authid,Email login enabled\nada,Y\n"), http.StatusOK)
		if out.Valid || !slices.Contains(out.Rows[0].Errors, msgAccountOff) {
			t.Fatalf("preview = %v, want the row refused", out)
		}
		importFile(t, h, "format=csv&apply=true", "", []byte("authid,Email login enabled\nada,Y\n"), http.StatusUnprocessableEntity)
		if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.EmailPasswordLogin {
			t.Fatalf("ada = %v", got)
		}
		if n := h.outbox.countTo("ada@example.com"); n != 0 {
			t.Fatalf("%d messages went to ada", n)
		}
	})

	allowEmailLogin(h)
	t.Run("with the account's on, a user's switch turns on and shows", func(t *testing.T) {
		got := adminAs[apitest.User](h, http.MethodPatch, "/v1/admin/users/ada", req{"email_password_login": true}, http.StatusOK)
		if !got.EmailPasswordLogin || got.PasswordSetAt != nil || got.PasswordChangedAt != nil {
			t.Fatalf("ada = %v", got)
		}
		events := auditEvents(h, "authid=ada&type=user.updated")
		if len(events) != 1 || events[0].Detail["email_password_login"] != true {
			t.Fatalf("user.updated events = %v", events)
		}
		list := adminAs[apitest.Users](h, http.MethodGet, "/v1/admin/users?q=ada", nil, http.StatusOK).Users
		if len(list) != 1 || !list[0].EmailPasswordLogin {
			t.Fatalf("the list shows %v", list)
		}
	})

	t.Run("a user without an email cannot have it, nor lose the email while on", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "noemail"}, http.StatusCreated)
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/noemail", h.AdminKey, req{"email_password_login": true}),
			http.StatusConflict, "email and password sign-in needs the user's email address")
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users", h.AdminKey, req{"authid": "noemail2", "email_password_login": true}),
			http.StatusConflict, "needs the user's email address")
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/ada", h.AdminKey, req{"email": ""}),
			http.StatusConflict, "needs the user's email address")
	})

	t.Run("turning the account's switch off keeps users' switches but allows no new one", func(t *testing.T) {
		welcomeFor(t, h, "ada@example.com", 1)
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_password_login": false, "confirm_affected_users": 1}, http.StatusOK)
		if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); !got.EmailPasswordLogin {
			t.Fatalf("ada after the account's switch went off = %v, want her switch kept", got)
		}
		// Ada's welcome link stops working while it is off.
		wantPage(t, h.Page(http.MethodGet, h.outbox.sentTo(t, "ada@example.com", 1).Link), http.StatusGone, goneTitle)
		h.Admin(http.MethodPatch, "/v1/admin/users/ada", req{"email_password_login": false}, http.StatusOK)
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/ada", h.AdminKey, req{"email_password_login": true}), http.StatusConflict, msgAccountOff)
	})

	t.Run("with email delivery off no welcome link can go, so no switch turns on", func(t *testing.T) {
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_password_login": true, "email_delivery": false}, http.StatusOK)
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/ada", h.AdminKey, req{"email_password_login": true}), http.StatusConflict,
			"email delivery is off for the account, and the welcome link goes by email")
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users/email-login", h.AdminKey, req{"authids": []string{"ada"}, "action": "enable"}),
			http.StatusConflict, "email delivery is off for the account")
		// Turning it off needs no email.
		h.Admin(http.MethodPost, "/v1/admin/users/email-login", req{"authids": []string{"ada"}, "action": "disable"}, http.StatusOK)
	})
}

func TestWelcomeLinkSetsThePasswordOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	allowEmailLogin(h)
	created := adminAs[apitest.User](h, http.MethodPost, "/v1/admin/users",
		req{"authid": "ada", "name": "Ada", "email": "ada@example.com", "email_password_login": true}, http.StatusCreated)
	if !created.EmailPasswordLogin {
		t.Fatalf("created = %v", created)
	}
	msg := welcomeFor(t, h, "ada@example.com", 1)
	if !strings.Contains(msg.Text, "expires in 72 hours") {
		t.Fatalf("text = %q", msg.Text)
	}

	t.Run("its page asks for the password, with the rules and labelled fields, and changes nothing", func(t *testing.T) {
		for range 2 {
			res := h.Page(http.MethodGet, msg.Link)
			wantPage(t, res, http.StatusOK, "Create your password for Acme", "At least 8 characters.",
				`<label for="password">`, `id="password" name="password" autocomplete="new-password"`,
				`<label for="confirm">`, `type="password" id="confirm"`, `<button type="submit">`, "ada@example.com")
		}
	})

	refusals := []struct {
		name, password, again, says string
	}{
		{"two different passwords", "correct horse battery", "correct horse battery!", "The two passwords are not the same"},
		{"a short one", "short", "short", apitest.RefusedShort},
		{"a common one", "password123", "password123", apitest.RefusedCommon},
		{"the user's email", "ada@example.com", "ada@example.com", apitest.RefusedEmail},
		{"none", "", "", "Type a password."},
	}
	for _, r := range refusals {
		t.Run("refused with its reason on the page: "+r.name, func(t *testing.T) {
			res := submitPassword(t, msg.Link, r.password, r.again)
			wantPage(t, res, http.StatusUnprocessableEntity, "Your password was not set.", r.says, `role="alert"`, `aria-invalid="true"`)
			if r.password != "" && strings.Contains(res.Body, r.password) && r.password != "ada@example.com" {
				t.Fatal("the page shows the password typed")
			}
			if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.PasswordSetAt != nil {
				t.Fatalf("a refused password was set: %v", got)
			}
		})
	}

	t.Run("a form from another site is refused", func(t *testing.T) {
		form := url.Values{"password": {"correct horse battery"}, "confirm": {"correct horse battery"}}
		r, err := http.NewRequest(http.MethodPost, msg.Link, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://evil.example")
		if res := sendRequest(t, r); res.Status != http.StatusForbidden {
			t.Fatalf("cross-site post = %d %s", res.Status, res.Body)
		}
	})

	t.Run("a good password is set, hashed, and the link used up", func(t *testing.T) {
		res := submitPassword(t, msg.Link, "correct horse battery", "correct horse battery")
		wantPage(t, res, http.StatusOK, "Your password is set")
		user := h.Do(http.MethodGet, "/v1/admin/users/ada", h.AdminKey, nil)
		got := apitest.Decode[apitest.User](t, user)
		if got.PasswordSetAt == nil || got.PasswordChangedAt != nil {
			t.Fatalf("ada = %v, want a password set now, never changed", got)
		}
		stored, err := h.Store.GetUser(t.Context(), deploytest.Account, "ada")
		if err != nil {
			t.Fatal(err)
		}
		if stored.PasswordHash != apitest.TestHash("correct horse battery") {
			t.Fatalf("stored %q, want the rules' hash", stored.PasswordHash)
		}
		if strings.Contains(user.Body, "password_hash") || strings.Contains(user.Body, stored.PasswordHash) {
			t.Fatalf("the admin API shows the hash: %s", user.Body)
		}
		events := auditEvents(h, "authid=ada&type=password.set")
		if len(events) != 1 || events[0].Detail["actor"] != "user:ada" {
			t.Fatalf("password.set events = %v, want one by the user", events)
		}
		raw := h.Do(http.MethodGet, "/v1/admin/audit?authid=ada", h.AdminKey, nil).Body
		if strings.Contains(raw, "correct horse battery") || strings.Contains(raw, strings.TrimPrefix(msg.Link, h.URL+"/w/")) {
			t.Fatal("the audit trail holds the password or the link's token")
		}
	})

	t.Run("the link used once is gone, on GET and POST alike", func(t *testing.T) {
		wantPage(t, h.Page(http.MethodGet, msg.Link), http.StatusGone, goneTitle)
		wantPage(t, submitPassword(t, msg.Link, "another good one", "another good one"), http.StatusGone, goneTitle)
		unknown := h.URL + "/w/" + strings.Repeat("A", 43)
		gone := h.Page(http.MethodGet, unknown)
		wantPage(t, gone, http.StatusGone, goneTitle)
		if used := h.Page(http.MethodGet, msg.Link); used.Body != gone.Body {
			t.Fatal("a used link and an unknown one get different pages")
		}
		if got, _ := h.Store.GetUser(t.Context(), deploytest.Account, "ada"); got.PasswordHash != apitest.TestHash("correct horse battery") {
			t.Fatal("the used link changed the password")
		}
	})
}

func TestWelcomeLinkExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	allowEmailLogin(h)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "email": "ada@example.com", "email_password_login": true}, http.StatusCreated)
	msg := welcomeFor(t, h, "ada@example.com", 1)
	t.Cleanup(func() { h.skew.Store(0) })

	h.skew.Store(int64(71 * time.Hour))
	wantPage(t, h.Page(http.MethodGet, msg.Link), http.StatusOK, "Create your password")
	h.skew.Store(int64(72*time.Hour + time.Minute))
	wantPage(t, h.Page(http.MethodGet, msg.Link), http.StatusGone, goneTitle)
	wantPage(t, submitPassword(t, msg.Link, "correct horse battery", "correct horse battery"), http.StatusGone, goneTitle)
	if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/ada", nil, http.StatusOK); got.PasswordSetAt != nil {
		t.Fatalf("an expired link set a password: %v", got)
	}
}

func TestNewWelcomeLinkKillsTheOld(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	allowEmailLogin(h)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "email": "ada@example.com", "email_password_login": true}, http.StatusCreated)
	first := welcomeFor(t, h, "ada@example.com", 1)

	out := adminAs[apitest.EmailLoginResults](h, http.MethodPost, "/v1/admin/users/email-login", req{"authids": []string{"ada"}, "action": "resend"}, http.StatusOK)
	if !slices.Equal(out.Results, []apitest.EmailLoginResultsResult{{Authid: "ada", Link: "welcome", Result: "resent"}}) {
		t.Fatalf("resend = %v", out)
	}
	second := welcomeFor(t, h, "ada@example.com", 2)
	if second.Link == first.Link {
		t.Fatal("the resent link is the first one")
	}
	wantPage(t, h.Page(http.MethodGet, first.Link), http.StatusGone, goneTitle)
	wantPage(t, h.Page(http.MethodGet, second.Link), http.StatusOK, "Create your password")

	t.Run("a changed email kills the link and sends one to the new address", func(t *testing.T) {
		h.Admin(http.MethodPatch, "/v1/admin/users/ada", req{"email": "ada@new.example"}, http.StatusOK)
		third := welcomeFor(t, h, "ada@new.example", 1)
		wantPage(t, h.Page(http.MethodGet, second.Link), http.StatusGone, goneTitle)
		wantPage(t, h.Page(http.MethodGet, third.Link), http.StatusOK, "ada@new.example")
		second = third
	})

	t.Run("turning the user's switch off kills the link; on again sends a new one", func(t *testing.T) {
		h.Admin(http.MethodPatch, "/v1/admin/users/ada", req{"email_password_login": false}, http.StatusOK)
		wantPage(t, h.Page(http.MethodGet, second.Link), http.StatusGone, goneTitle)
		out := adminAs[apitest.EmailLoginResults](h, http.MethodPost, "/v1/admin/users/email-login", req{"authids": []string{"ada"}, "action": "resend"}, http.StatusOK)
		if out.Summary != (apitest.EmailLoginResultsSummary{Changed: 0, Errors: 1, Unchanged: 0}) {
			t.Fatalf("resend with the switch off = %v", out)
		}
		h.Admin(http.MethodPatch, "/v1/admin/users/ada", req{"email_password_login": true}, http.StatusOK)
		again := welcomeFor(t, h, "ada@new.example", 2)
		wantPage(t, submitPassword(t, again.Link, "correct horse battery", "correct horse battery"), http.StatusOK, "Your password is set")
	})
	types := h.AuditTypes("authid=ada&type=welcome.requested")
	if len(types) != 4 {
		t.Fatalf("welcome.requested events = %v, want 4 (created, resent, email changed, enabled again)", types)
	}
	if n := len(h.AuditTypes("authid=ada&type=welcome.sent")); n != 4 {
		t.Fatalf("welcome.sent events = %d, want 4", n)
	}
}

func TestEmailLoginActionsOnASelection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	allowEmailLogin(h)
	for _, u := range []req{
		{"authid": "ada", "email": "ada@example.com"},
		{"authid": "bob"}, // no email
		{"authid": "cy", "email": "cy@example.com", "email_password_login": true},
	} {
		h.Admin(http.MethodPost, "/v1/admin/users", u, http.StatusCreated)
	}
	welcomeFor(t, h, "cy@example.com", 1)

	for _, tc := range []struct {
		name string
		body any
		want string
	}{
		{"an unknown action", req{"authids": []string{"ada"}, "action": "wipe"}, "action must be enable, disable or resend"},
		{"no users", req{"authids": []string{}, "action": "enable"}, "authids must list at least one user"},
		{"too many users", req{"authids": slices.Repeat([]string{"ada"}, 1001), "action": "enable"}, "at most 1000 users"},
		{"a number for a user", `{"authids":[1],"action":"enable"}`, "must be"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			wantError(t, h.Do(http.MethodPost, "/v1/admin/users/email-login", h.AdminKey, tc.body), http.StatusBadRequest, tc.want)
		})
	}

	t.Run("enable judges each user and applies the others", func(t *testing.T) {
		out := adminAs[apitest.EmailLoginResults](h, http.MethodPost, "/v1/admin/users/email-login",
			req{"authids": []string{"ada", "bob", "cy", "ghost", "ada"}, "action": "enable"}, http.StatusOK)
		want := []apitest.EmailLoginResultsResult{
			{Authid: "ada", Result: "enabled"},
			{Authid: "bob", Error: "email and password sign-in needs the user's email address: the welcome link goes there", Result: "error", Status: 409},
			{Authid: "cy", Result: "unchanged"},
			{Authid: "ghost", Error: `user "ghost" not found`, Result: "error", Status: 404},
		}
		if !slices.Equal(out.Results, want) || out.Summary != (apitest.EmailLoginResultsSummary{Changed: 1, Errors: 2, Unchanged: 1}) {
			t.Fatalf("answer = %+v", out)
		}
		welcomeFor(t, h, "ada@example.com", 1)
		if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/bob", nil, http.StatusOK); got.EmailPasswordLogin {
			t.Fatalf("bob = %v", got)
		}
		events := auditEvents(h, "authid=ada&type=user.updated")
		if len(events) != 1 || events[0].Detail["source"] != "selection" || events[0].Detail["actor"] != "key:"+adminKeyID(h) {
			t.Fatalf("ada's user.updated = %v", events)
		}
		if n := h.outbox.countTo("cy@example.com"); n != 1 {
			t.Fatalf("cy, already enabled, got %d messages", n)
		}
	})

	t.Run("resend sends a new link to each enabled user", func(t *testing.T) {
		out := adminAs[apitest.EmailLoginResults](h, http.MethodPost, "/v1/admin/users/email-login", req{"authids": []string{"ada", "cy", "bob"}, "action": "resend"}, http.StatusOK)
		if out.Summary != (apitest.EmailLoginResultsSummary{Changed: 2, Errors: 1, Unchanged: 0}) {
			t.Fatalf("answer = %+v", out)
		}
		welcomeFor(t, h, "ada@example.com", 2)
		welcomeFor(t, h, "cy@example.com", 2)
	})

	t.Run("disable turns them off and kills their links", func(t *testing.T) {
		link := h.outbox.sentTo(t, "cy@example.com", 2).Link
		out := adminAs[apitest.EmailLoginResults](h, http.MethodPost, "/v1/admin/users/email-login", req{"authids": []string{"ada", "cy", "bob"}, "action": "disable"}, http.StatusOK)
		want := []apitest.EmailLoginResultsResult{{Authid: "ada", Result: "disabled"}, {Authid: "cy", Result: "disabled"}, {Authid: "bob", Result: "unchanged"}}
		if !slices.Equal(out.Results, want) {
			t.Fatalf("answer = %+v", out)
		}
		wantPage(t, h.Page(http.MethodGet, link), http.StatusGone, goneTitle)
		out = adminAs[apitest.EmailLoginResults](h, http.MethodPost, "/v1/admin/users/email-login", req{"authids": []string{"ada"}, "action": "resend"}, http.StatusOK)
		if !slices.Equal(out.Results, []apitest.EmailLoginResultsResult{{Authid: "ada", Error: "email and password sign-in is off for this user; enable it first", Result: "error", Status: 409}}) {
			t.Fatalf("resend to a disabled user = %v", out)
		}
	})
}

func TestImportAndExportEmailLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "email": "ada@example.com"}, http.StatusCreated)
	allowEmailLogin(h)
	file := []byte("authid,email,Email login enabled\n" +
		"ada,ada@example.com,Y\n" +
		"bob,bob@example.com,y\n" +
		"cy,,N\n")

	out := importFile(t, h, "format=csv", "", file, http.StatusOK)
	rows := out.Rows
	if !out.Valid || fmt.Sprint(rows[0].Changes) != "[email login enabled]" ||
		fmt.Sprint(rows[1].Changes) != "[email email login enabled]" {
		t.Fatalf("preview = %v", out)
	}
	if n := h.outbox.countTo("ada@example.com"); n != 0 {
		t.Fatal("a preview sent a welcome message")
	}

	t.Run("rows the switch cannot be turned on for are errors", func(t *testing.T) {
		bad := []byte("authid,email,Email login enabled\nada,ada@example.com,maybe\ndan,,Y\n")
		out := importFile(t, h, "format=csv", "", bad, http.StatusOK)
		rows := out.Rows
		if out.Valid || !strings.Contains(fmt.Sprint(rows[0].Errors), `email login enabled "maybe" is not Y or N`) ||
			!strings.Contains(fmt.Sprint(rows[1].Errors), "email login needs an email address") {
			t.Fatalf("preview = %v", out)
		}
		importFile(t, h, "format=csv&apply=true", "", bad, http.StatusUnprocessableEntity)
	})

	t.Run("applied, the users it turns on get their welcome links", func(t *testing.T) {
		out := importFile(t, h, "format=csv&apply=true", "", file, http.StatusOK)
		if !out.Applied {
			t.Fatalf("apply = %v", out)
		}
		ada := welcomeFor(t, h, "ada@example.com", 1)
		welcomeFor(t, h, "bob@example.com", 1)
		for authid, want := range map[string]bool{"ada": true, "bob": true, "cy": false} {
			if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/"+authid, nil, http.StatusOK); got.EmailPasswordLogin != want {
				t.Fatalf("%s = %v", authid, got)
			}
		}
		wantPage(t, h.Page(http.MethodGet, ada.Link), http.StatusOK, "Create your password")
		if n := len(h.AuditTypes("type=welcome.requested")); n != 2 {
			t.Fatalf("welcome.requested events = %d, want 2", n)
		}
		// The same file again changes nothing and sends nothing.
		importFile(t, h, "format=csv&apply=true", "", file, http.StatusOK)
		time.Sleep(200 * time.Millisecond)
		if n := h.outbox.countTo("ada@example.com"); n != 1 {
			t.Fatalf("ada got %d messages, want 1", n)
		}
	})

	t.Run("export shows Y and N", func(t *testing.T) {
		records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(export(t, h, "?format=csv", "text/csv; charset=utf-8", "users.csv"), []byte("\xEF\xBB\xBF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(records[0], ",") != "authid,name,email,phone,status,systems,Email login enabled,Organisation" {
			t.Fatalf("header = %v", records[0])
		}
		got := map[string]string{}
		for _, r := range records[1:] {
			got[r[0]] = r[6]
		}
		if fmt.Sprint(got) != "map[ada:Y bob:Y cy:N]" {
			t.Fatalf("email login cells = %v", got)
		}
	})
}

// The console's dev outbox tells a welcome link from a sign-in link.
func TestDevOutboxNamesTheWelcomePurpose(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir() + "/outbox.jsonl"
	lines := `{"id":"m1","time":"2026-11-23T08:00:00Z","channel":"email","to":"ada@example.com","subject":"Your sign-in link","link":"http://x/l/1","metadata":{"system":"console"}}` + "\n" +
		`{"id":"m2","time":"2026-11-23T08:01:00Z","channel":"email","to":"ada@example.com","subject":"Create your password for Acme","link":"http://x/w/1","metadata":{"account":"acme","purpose":"welcome"}}` + "\n"
	if err := os.WriteFile(outbox, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, harnessOptions{adminOnly: true, devOutbox: outbox})
	token, _ := devToken(t, h)
	res := send(t, h, http.MethodGet, "/v1/admin/dev/outbox", "", map[string]string{"X-Flexauth-Dev-Token": token}, "")
	if res.Status != http.StatusOK {
		t.Fatalf("outbox = %d %s", res.Status, res.Body)
	}
	msgs := apitest.Decode[apitest.DevOutbox](t, res).Messages
	if len(msgs) != 2 || msgs[0].Purpose == nil || *msgs[0].Purpose != "welcome" || msgs[1].Purpose != nil {
		t.Fatalf("outbox = %d %s, want the welcome message's purpose only", res.Status, res.Body)
	}
}
