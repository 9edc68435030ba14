package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
)

// auditEvents returns the audit events the query selects, newest first.
func auditEvents(h *harness, query string) []apitest.AuditEvent {
	h.t.Helper()
	return adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?"+query, nil, http.StatusOK).Events
}

// adminKeyID is the id of the harness's admin key, as audit actors name it.
func adminKeyID(h *harness) string {
	h.t.Helper()
	for _, k := range adminAs[apitest.APIKeys](h, http.MethodGet, "/v1/admin/keys", nil, http.StatusOK).Keys {
		if k.Scope == "admin" {
			return k.ID
		}
	}
	h.t.Fatal("the harness has no admin key")
	return ""
}

func TestAccountEmailDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin", "passwordless"}, "low", "ada", "pin")
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "bob", "name": "Bob", "email": "bob@example.com", "phone": "+15555550100"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/bob/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)
	subject := func(authid string) req { return req{"system": "vpn", "authid": authid} }

	t.Run("a new account has email delivery on and email and password sign-in off", func(t *testing.T) {
		got := adminAs[apitest.Account](h, http.MethodGet, "/v1/admin/account", nil, http.StatusOK)
		// Equality also checks that credentials_deleted and welcome_links,
		// answers of a change, are absent.
		want := apitest.Account{ID: deploytest.Account, Name: "Acme", EmailDelivery: true, EmailLogin: true, EmailPasswordLogin: false, Parent: "", TopOrganisation: deploytest.Account}
		if got != want {
			t.Fatalf("account = %+v, want %+v", got, want)
		}
		if msg := h.outbox.message(t, h.Start("vpn", "bob")); msg.Channel != "email" {
			t.Fatalf("with email delivery on, bob's PIN went by %s", msg.Channel)
		}
	})

	for _, tc := range []struct {
		name string
		body any
		want string
	}{
		{"a string for a boolean", req{"email_delivery": "no"}, "email_delivery must be a boolean"},
		{"a string for the other boolean", req{"email_password_login": "yes"}, "email_password_login must be a boolean"},
		{"an unknown field", req{"email_delivery": false, "name": "Other"}, `unknown field "name"`},
		{"no setting", req{}, "send a setting: email_delivery or email_password_login, true or false"},
		{"null", `{"email_delivery":null}`, "send a setting: email_delivery or email_password_login, true or false"},
		{"the old and the new name disagreeing", req{"email_delivery": false, "email_login": true}, "email_login is the deprecated name of email_delivery"},
		{"not JSON", `{"email_delivery":`, "malformed JSON"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			wantError(t, h.Do(http.MethodPatch, "/v1/admin/account", h.AdminKey, tc.body), http.StatusBadRequest, tc.want)
		})
	}
	if got := adminAs[apitest.Account](h, http.MethodGet, "/v1/admin/account", nil, http.StatusOK); !got.EmailDelivery || got.EmailPasswordLogin {
		t.Fatalf("refused changes changed the account: %+v", got)
	}

	t.Run("an admin key turns email delivery off, audited with the actor", func(t *testing.T) {
		got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account", req{"email_delivery": false}, http.StatusOK)
		if got.EmailDelivery || got.EmailLogin || got.ID != deploytest.Account {
			t.Fatalf("answer = %+v", got)
		}
		if got := adminAs[apitest.Account](h, http.MethodGet, "/v1/admin/account", nil, http.StatusOK); got.EmailDelivery || got.EmailLogin {
			t.Fatalf("after the change: %+v", got)
		}
		events := auditEvents(h, "type=account.updated")
		if len(events) != 1 {
			t.Fatalf("account.updated events = %v, want one", events)
		}
		detail := events[0].Detail
		if detail["actor"] != "key:"+adminKeyID(h) || fmt.Sprint(detail["email_delivery"]) != "map[new:false old:true]" || detail["email_password_login"] != nil {
			t.Fatalf("audit detail = %v", detail)
		}
		// The same value again, even by its deprecated name, changes
		// nothing and records nothing.
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_delivery": false}, http.StatusOK)
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_login": false}, http.StatusOK)
		if n := len(auditEvents(h, "type=account.updated")); n != 1 {
			t.Fatalf("a no-op change was audited: %d events", n)
		}
	})

	t.Run("a user with email only is refused, and the audit says why", func(t *testing.T) {
		h.Expect("/v1/start", subject("ada"), http.StatusForbidden, "security error")
		denied := auditEvents(h, "type=attempt.denied&authid=ada")
		if len(denied) == 0 || !slices.Contains(denied[0].Reasons, "email delivery is off for the account") {
			t.Fatalf("denials = %v, want the reason", denied)
		}
	})

	t.Run("a user with a phone gets the PIN by SMS", func(t *testing.T) {
		msg := h.outbox.message(t, h.Start("vpn", "bob"))
		if msg.Channel != "sms" || msg.To != "+15555550100" || msg.Code == "" {
			t.Fatalf("message = %+v, want the PIN by SMS", msg)
		}
	})

	t.Run("turned back on by its deprecated name, email is used again", func(t *testing.T) {
		if got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account", req{"email_login": true}, http.StatusOK); !got.EmailDelivery || !got.EmailLogin {
			t.Fatalf("answer = %+v", got)
		}
		msg := h.outbox.message(t, h.Start("vpn", "ada"))
		if msg.Channel != "email" || msg.To != "ada@example.com" {
			t.Fatalf("message = %+v, want the PIN by email", msg)
		}
		if types := h.AuditTypes("type=account.updated"); len(types) != 2 {
			t.Fatalf("account.updated events = %v, want two", types)
		}
	})
}

func TestAccountChangeNeedsFreshSignIn(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)
	b := newBrowser(t, h)
	b.signIn("root")

	// GET needs no fresh sign-in; PATCH does, once the sign-in is 10 minutes old.
	t.Cleanup(func() { h.skew.Store(0) })
	h.skew.Store(int64(11 * time.Minute))
	b.want(b.do(http.MethodGet, "/v1/admin/account", nil, false), http.StatusOK, "id", deploytest.Account)
	res := b.do(http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, true)
	if res.Status != http.StatusForbidden || res.Body != `{"error":"fresh sign-in required","reauth":true}` {
		t.Fatalf("PATCH after 11 minutes = %d %s", res.Status, res.Body)
	}
	if got := adminAs[apitest.Account](h, http.MethodGet, "/v1/admin/account", nil, http.StatusOK); got.EmailPasswordLogin {
		t.Fatalf("a refused change changed the account: %+v", got)
	}

	// Signed in again, the change goes through and names the administrator.
	h.skew.Store(0)
	b = newBrowser(t, h)
	b.signIn("root")
	wantError(t, b.do(http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, false), http.StatusForbidden, "csrf token missing or wrong")
	if got := apitest.Decode[apitest.Account](t, b.want(b.do(http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, true), http.StatusOK, "", "")); !got.EmailPasswordLogin {
		t.Fatalf("answer = %+v", got)
	}
	events := auditEvents(h, "type=account.updated")
	if len(events) != 1 || events[0].Detail["actor"] != "console:root" ||
		fmt.Sprint(events[0].Detail["email_password_login"]) != "map[new:true old:false]" {
		t.Fatalf("account.updated events = %v, want one by console:root turning email and password sign-in on", events)
	}
}
