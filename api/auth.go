package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// apiKeyHeader is the FlexSecure header carrying the API key.
const apiKeyHeader = "apikey"

// maxKeyLength bounds what is hashed and looked up: real keys are about 50
// characters, anything far longer is not a key.
const maxKeyLength = 256

// adminKeyContext is where adminKey leaves the caller's key for handlers.
const adminKeyContext = "flexauth.admin_key"

// lookupKey resolves the request's API key. ok is false for a missing or
// unknown key; err is a store failure.
func (s *Server) lookupKey(c *gin.Context) (key store.APIKey, ok bool, err error) {
	raw := c.GetHeader(apiKeyHeader)
	if raw == "" || len(raw) > maxKeyLength {
		return store.APIKey{}, false, nil
	}
	key, err = s.store.APIKeyByHash(c.Request.Context(), secret.HashAPIKey(raw))
	if errors.Is(err, store.ErrNotFound) {
		return store.APIKey{}, false, nil
	}
	if err != nil {
		return store.APIKey{}, false, err
	}
	s.touchKey(c, key)
	return key, true, nil
}

// keyUseResolution is how fresh a key's "last used" is kept: at most one
// write per key per minute, so polling check does not write on every call.
const keyUseResolution = time.Minute

// touchKey records that key was used. Losing the update costs only
// freshness, so it never fails the request.
func (s *Server) touchKey(c *gin.Context, key store.APIKey) {
	now := s.now().UTC()
	if key.LastUsedAt != nil && now.Sub(*key.LastUsedAt) < keyUseResolution {
		return
	}
	if err := s.store.TouchAPIKey(c.Request.Context(), key.ID, now); err != nil {
		s.log.WarnContext(c.Request.Context(), "record api key use", "key_id", key.ID, "error", err)
	}
}

// appKey resolves an app-scoped key. Any other key is treated as no key:
// the app API answers it with the same security error as everything else.
func (s *Server) appKey(c *gin.Context) (store.APIKey, bool, error) {
	key, ok, err := s.lookupKey(c)
	if err != nil || !ok || key.Scope != store.ScopeApp {
		return store.APIKey{}, false, err
	}
	return key, true, nil
}

// adminKey is the admin API's middleware: it lets through admin-scoped keys
// only and leaves the key in the context.
func (s *Server) adminKey(c *gin.Context) {
	key, ok, err := s.lookupKey(c)
	switch {
	case err != nil:
		s.internalError(c, "look up api key", err)
	case !ok:
		fail(c, http.StatusUnauthorized, "invalid api key")
	case key.Scope != store.ScopeAdmin:
		fail(c, http.StatusForbidden, "admin key required")
	default:
		c.Set(adminKeyContext, key)
		c.Next()
	}
}

// caller returns the admin key adminKey let through.
func caller(c *gin.Context) store.APIKey {
	key, _ := c.Get(adminKeyContext)
	k, _ := key.(store.APIKey)
	return k
}
