package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
)

func TestAPIKeys(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{adminOnly: true})

	t.Run("a created key is shown once and works at once", func(t *testing.T) {
		created := adminAs[apitest.APIKey](h, http.MethodPost, "/v1/admin/keys", req{"name": "ops", "scope": "admin"}, http.StatusCreated)
		key := created.Key
		if !strings.HasPrefix(key, "fa_admin_") || created.Scope != "admin" || created.Name != "ops" {
			t.Fatalf("created = %v", created)
		}
		if res := h.Do(http.MethodGet, "/v1/admin/systems", key, nil); res.Status != http.StatusOK {
			t.Fatalf("the new key: %d %s", res.Status, res.Body)
		}
		list := adminAs[apitest.APIKeys](h, http.MethodGet, "/v1/admin/keys", nil, http.StatusOK)
		if strings.Contains(strings.ToLower(toJSON(t, list)), strings.ToLower(key)) {
			t.Fatal("the key list shows a key")
		}
		keys := list.Keys
		if len(keys) != 3 { // the harness's app and admin keys, and this one
			t.Fatalf("keys = %v", list)
		}

		h.Admin(http.MethodDelete, "/v1/admin/keys/"+created.ID, nil, http.StatusNoContent)
		if res := h.Do(http.MethodGet, "/v1/admin/systems", key, nil); res.Status != http.StatusUnauthorized {
			t.Fatalf("a revoked key still works: %d", res.Status)
		}
		h.Admin(http.MethodDelete, "/v1/admin/keys/"+created.ID, nil, http.StatusNotFound)
		types := strings.Join(h.AuditTypes("type=key.revoked"), ",") + "," + strings.Join(h.AuditTypes("type=key.created"), ",")
		if types != "key.revoked,key.created" {
			t.Fatalf("audit = %s", types)
		}
	})

	t.Run("the last admin key cannot be revoked", func(t *testing.T) {
		list := adminAs[apitest.APIKeys](h, http.MethodGet, "/v1/admin/keys", nil, http.StatusOK)
		for _, k := range list.Keys {
			if k.Scope == "admin" && k.RevokedAt == nil {
				h.Admin(http.MethodDelete, "/v1/admin/keys/"+k.ID, nil, http.StatusConflict)
			}
		}
		h.Admin(http.MethodGet, "/v1/admin/systems", nil, http.StatusOK)
	})

	for _, tc := range []struct {
		name string
		body any
		want string
	}{
		{"no name", req{"scope": "app"}, "name is required"},
		{"unknown scope", req{"name": "x", "scope": "root"}, "scope must be"},
		{"unknown field", req{"name": "x", "scope": "app", "secret": "mine"}, "secret"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			res := h.Do(http.MethodPost, "/v1/admin/keys", h.AdminKey, tc.body)
			if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, tc.want) {
				t.Fatalf("%d %s, want 400 naming %q", res.Status, res.Body, tc.want)
			}
		})
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
