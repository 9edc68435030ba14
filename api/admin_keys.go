package api

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// keyJSON is an API key as the admin API shows it: never the key itself,
// except once, in Key, when it is created.
type keyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	Key        string     `json:"key,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func toKeyJSON(k store.APIKey) keyJSON {
	return keyJSON{ID: k.ID, Name: k.Name, Scope: k.Scope, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

type createKeyRequest struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
}

const maxKeyNameLength = 100

// createKey makes a key; its secret is in this one answer and nowhere else.
func (s *Server) createKey(c *gin.Context) {
	var req createKeyRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	name := strings.TrimSpace(req.Name)
	switch {
	case name == "":
		fail(c, http.StatusBadRequest, "name is required")
		return
	case utf8.RuneCountInString(name) > maxKeyNameLength || strings.ContainsFunc(name, unicode.IsControl):
		failf(c, http.StatusBadRequest, "name must be at most %d characters, without control characters", maxKeyNameLength)
		return
	}
	prefix := map[string]string{store.ScopeApp: secret.AppKeyPrefix, store.ScopeAdmin: secret.AdminKeyPrefix}[req.Scope]
	if prefix == "" {
		failf(c, http.StatusBadRequest, "scope must be %q or %q", store.ScopeApp, store.ScopeAdmin)
		return
	}
	raw, err := secret.NewAPIKey(prefix)
	if err != nil {
		s.internalError(c, "generate api key", err)
		return
	}
	k := store.APIKey{
		ID: uuid.NewString(), AccountID: caller(c).AccountID, Name: name, Scope: req.Scope,
		Hash: secret.HashAPIKey(raw), CreatedAt: s.now().UTC(),
	}
	ev := s.auditEvent(c, "key.created", "", "", map[string]any{"key": k.ID, "name": k.Name, "scope": k.Scope})
	if err := s.store.CreateAPIKey(c.Request.Context(), &k, ev); err != nil {
		s.internalError(c, "create api key", err)
		return
	}
	out := toKeyJSON(k)
	out.Key = raw
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, out)
}

func (s *Server) listKeys(c *gin.Context) {
	keys, err := s.store.ListAPIKeys(c.Request.Context(), caller(c).AccountID)
	if err != nil {
		s.internalError(c, "list api keys", err)
		return
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = toKeyJSON(k)
	}
	c.JSON(http.StatusOK, gin.H{"keys": out})
}

// revokeKey revokes a key at once: the next request made with it fails.
func (s *Server) revokeKey(c *gin.Context) {
	id := c.Param("id")
	ev := s.auditEvent(c, "key.revoked", "", "", map[string]any{"key": id})
	err := s.store.RevokeAPIKey(c.Request.Context(), caller(c).AccountID, id, s.now().UTC(), ev)
	switch {
	case errors.Is(err, store.ErrNotFound):
		failf(c, http.StatusNotFound, "api key %q not found (or already revoked)", id)
	case errors.Is(err, store.ErrLastAdminKey):
		fail(c, http.StatusConflict, "this is the account's last admin key: create another admin key before revoking it")
	case err != nil:
		s.internalError(c, "revoke api key", err)
	default:
		c.Status(http.StatusNoContent)
	}
}
