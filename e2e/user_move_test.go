package e2e

import (
	"net/http"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
)

// TestMovedUserSignsInOnlyAtItsNewOrganisation: a link sent before the
// user moved to a sub-organisation no longer signs it in at the
// organisation it left (its pending attempt was cancelled), and the user,
// with its assignment carried over, signs in at its new organisation with
// that organisation's app key.
func TestMovedUserSignsInOnlyAtItsNewOrganisation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless", "pin"}, "low", "alice", "passwordless")
	body := req{"system": "wiki", "authid": "alice"}
	attempt := h.Start("wiki", "alice")
	before := h.waitAttemptMessage(attempt)

	h.Admin(http.MethodPost, "/v1/admin/organisations", req{"id": "eu", "name": "Europe"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/systems?organisation=eu",
		req{"name": "wiki", "methods": []string{"passwordless"}, "sensitivity": "low", "ttl_seconds": 600}, http.StatusCreated)
	moved := apitest.AdminAs[apitest.UserMoved](h.Client, http.MethodPost, "/v1/admin/users/alice/move", req{"organisation": "eu"}, http.StatusOK)
	if len(moved.Assignments) != 1 {
		t.Fatalf("move = %v, want the wiki assignment carried over", moved)
	}

	// The old link: whatever its page says, acme's app never hears
	// "authenticated".
	h.Page(http.MethodPost, before.Link)
	if got := apitest.Decode[apitest.Result](t, h.App("/v1/check", body)).Result; got == "authenticated" {
		t.Fatal("a link sent before the move signed alice in at the organisation she left")
	}
	h.Expect("/v1/start", body, http.StatusForbidden, "security error")

	// At eu, with eu's app key, alice signs in.
	key := apitest.AdminAs[apitest.APIKey](h.Client, http.MethodPost, "/v1/admin/keys?organisation=eu", req{"name": "eu app", "scope": "app"}, http.StatusCreated).Key
	eu := &apitest.Client{T: t, URL: h.URL, AppKey: key, AdminKey: h.AdminKey}
	euAttempt := eu.Start("wiki", "alice")
	link := h.waitAttemptMessage(euAttempt).Link
	if res := h.Page(http.MethodPost, link); res.Status != http.StatusOK {
		t.Fatalf("POST eu's link = %d:\n%s", res.Status, res.Body)
	}
	eu.Expect("/v1/check", body, http.StatusOK, "authenticated")
}
