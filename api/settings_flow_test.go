package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// appKeyOf makes an app key of the organisation id.
func (h *harness) appKeyOf(id string) string {
	h.t.Helper()
	key, err := secret.NewAPIKey(secret.AppKeyPrefix)
	if err != nil {
		h.t.Fatal(err)
	}
	err = h.Store.CreateAPIKey(context.Background(), &store.APIKey{
		ID: uuid.NewString(), AccountID: id, Name: "app key of " + id, Scope: store.ScopeApp,
		Hash: secret.HashAPIKey(key), CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return key
}

// The email and password switch is set by the top organisation for its
// whole tree: a sub-organisation's users sign in with a password when the
// top's switch is on, and the sub-organisation cannot change it.
func TestEmailPasswordSwitchFlowsDown(t *testing.T) {
	h := newHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/organisations", req{"id": "eu", "name": "Europe"}, http.StatusCreated)
	const eu = "?organisation=eu"

	t.Run("a sub-organisation cannot change it: 409 naming the top", func(t *testing.T) {
		for _, on := range []bool{true, false} {
			res := h.Do(http.MethodPatch, "/v1/admin/account"+eu, h.AdminKey, req{"email_password_login": on})
			if on && (res.Status != http.StatusConflict ||
				!strings.Contains(res.Body, `set by the top organisation \"acme\"`) || !strings.Contains(res.Body, "change it there")) {
				t.Fatalf("PATCH account of eu = %d %s, want 409 naming acme", res.Status, res.Body)
			}
			if !on && res.Status != http.StatusOK {
				// Off already (acme's value): nothing to change.
				t.Fatalf("PATCH account of eu to its effective value = %d %s, want 200", res.Status, res.Body)
			}
		}
		// Its own administrators get the same answer.
		res := h.Do(http.MethodPatch, "/v1/admin/account", h.keyOf("eu"), req{"email_password_login": true})
		if res.Status != http.StatusConflict || !strings.Contains(res.Body, "acme") {
			t.Fatalf("PATCH account by eu's key = %d %s, want 409", res.Status, res.Body)
		}
		// Email delivery stays its own.
		if got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account"+eu, req{"email_delivery": false}, http.StatusOK); got.EmailDelivery {
			t.Fatalf("eu = %v, want delivery off", got)
		}
		h.Admin(http.MethodPatch, "/v1/admin/account"+eu, req{"email_delivery": true}, http.StatusOK)
	})

	allowEmailLogin(h)
	if got := adminAs[apitest.Account](h, http.MethodGet, "/v1/admin/account"+eu, nil, http.StatusOK); !got.EmailPasswordLogin || got.TopOrganisation != "acme" || got.Parent != "acme" {
		t.Fatalf("eu = %v, want acme's switch, on", got)
	}

	t.Run("a sub-organisation's user signs in with a password allowed by the top's switch", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/systems"+eu, req{
			"name": "portal", "methods": []string{"password"}, "sensitivity": "medium", "ttl_seconds": 300,
		}, http.StatusCreated)
		h.Admin(http.MethodPost, "/v1/admin/users"+eu, req{"authid": "eve", "name": "Eve", "email": "eve@example.com", "email_password_login": true}, http.StatusCreated)
		h.Admin(http.MethodPut, "/v1/admin/users/eve/systems"+eu, req{"assignments": []req{{"system": "portal", "method": "password"}}}, http.StatusOK)
		msg := h.outbox.sentTo(t, "eve@example.com", 1)
		if !strings.HasPrefix(msg.Link, h.URL+"/w/") {
			t.Fatalf("message to eve = %+v, want a welcome link", msg)
		}
		wantPage(t, submitPassword(t, msg.Link, "correct horse battery", "correct horse battery"), http.StatusOK, "Your password is set")

		app := &apitest.Client{T: t, URL: h.URL, AppKey: h.appKeyOf("eu")}
		out := apitest.ExpectAs[apitest.StartSuccess](app, "/v1/start", req{"system": "portal", "authid": "eve"}, http.StatusOK, "success")
		page := out.URL
		if out.Method != "password" || page == "" {
			t.Fatalf("start = %v, want the password method", out)
		}
		res := newPageBrowser(t).post(page, url.Values{"step": {"password"}, "password": {"correct horse battery"}})
		wantPage(t, res, http.StatusOK, "Set up your authenticator app")
	})

	t.Run("turned off at the top, the sub-organisation's credentials go too", func(t *testing.T) {
		res := h.Do(http.MethodPatch, "/v1/admin/account", h.AdminKey, req{"email_password_login": false})
		if res.Status != http.StatusConflict || apitest.Decode[apitest.AffectedUsers](t, res).AffectedUsers != 1 {
			t.Fatalf("off at acme = %d %s, want 409 with eve of eu affected", res.Status, res.Body)
		}
		got := adminAs[apitest.Account](h, http.MethodPatch, "/v1/admin/account", req{"email_password_login": false, "confirm_affected_users": 1}, http.StatusOK)
		if d := got.CredentialsDeleted; d == nil || d.Users != 1 || d.Passwords != 1 {
			t.Fatalf("off at acme = %v, want eve's password deleted", got)
		}
		if got := adminAs[apitest.Account](h, http.MethodGet, "/v1/admin/account"+eu, nil, http.StatusOK); got.EmailPasswordLogin {
			t.Fatalf("eu = %v, want the switch off", got)
		}
		app := &apitest.Client{T: t, URL: h.URL, AppKey: h.appKeyOf("eu")}
		app.Expect("/v1/start", req{"system": "portal", "authid": "eve"}, http.StatusForbidden, "security error")
	})
}

// A sub-organisation without a policy of its own uses its parent's.
func TestPolicyFlowsDown(t *testing.T) {
	h := newHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/organisations", req{"id": "eu", "name": "Europe"}, http.StatusCreated)
	const eu = "?organisation=eu"
	h.Admin(http.MethodPost, "/v1/admin/systems"+eu, req{"name": "vpn", "methods": []string{"pin"}, "sensitivity": "low", "ttl_seconds": 300}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users"+eu, req{"authid": "eve", "name": "Eve", "email": "eve@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/eve/systems"+eu, req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)
	app := &apitest.Client{T: t, URL: h.URL, AppKey: h.appKeyOf("eu")}
	start := req{"system": "vpn", "authid": "eve"}
	app.Expect("/v1/start", start, http.StatusOK, "success")

	h.Admin(http.MethodPost, "/v1/admin/policy", req{"rego": closedVPNPolicy, "tests": closedVPNTests}, http.StatusCreated)
	t.Run("the parent's uploaded Rego policy decides for the child's users", func(t *testing.T) {
		app.Expect("/v1/start", start, http.StatusForbidden, "security error")
		active := adminAs[apitest.Policy](h, http.MethodGet, "/v1/admin/policy"+eu, nil, http.StatusOK).Active
		if active.InheritedFrom == nil || *active.InheritedFrom != "acme" || active.Version != 1 || active.Builtin {
			t.Fatalf("eu's active policy = %.300v, want acme's version 1", active)
		}
	})
	t.Run("uploading one makes it the child's own", func(t *testing.T) {
		open := strings.Replace(closedVPNPolicy, `!= "vpn"`, `!= "nothing"`, 1)
		tests := "package flexauth.risk_test\n\nimport data.flexauth.risk\n\ntest_vpn_is_open if {\n\trisk.decision.allow with input as {\"system\": {\"name\": \"vpn\", \"methods\": [\"pin\"]}, \"subject\": {\"assigned_method\": \"pin\"}}\n}\n"
		h.Admin(http.MethodPost, "/v1/admin/policy"+eu, req{"rego": open, "tests": tests}, http.StatusCreated)
		app.Expect("/v1/start", start, http.StatusOK, "success")
		active := adminAs[apitest.Policy](h, http.MethodGet, "/v1/admin/policy"+eu, nil, http.StatusOK).Active
		if active.InheritedFrom != nil || active.Version != 1 {
			t.Fatalf("eu's active policy = %.300v, want its own version 1", active)
		}
	})
}
