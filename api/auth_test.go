package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/flexauth/flexauth/secret"
)

func TestKeyUseIsRecordedAtMostOncePerMinute(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	lastUsed := func() string {
		k, err := h.Store.APIKeyByHash(context.Background(), secret.HashAPIKey(h.AdminKey))
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt == nil {
			return ""
		}
		return k.LastUsedAt.String()
	}
	if lastUsed() != "" {
		t.Fatal("a fresh key has a last use")
	}
	h.Admin(http.MethodGet, "/v1/admin/systems", nil, http.StatusOK)
	first := lastUsed()
	if first == "" {
		t.Fatal("the key's use was not recorded")
	}
	h.Admin(http.MethodGet, "/v1/admin/systems", nil, http.StatusOK)
	if again := lastUsed(); again != first {
		t.Fatalf("last use rewritten within a minute: %s then %s", first, again)
	}
}
