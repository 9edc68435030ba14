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

// adminKey is the admin API's middleware. It lets through an admin-scoped
// API key or a valid console session (with its CSRF token on unsafe
// methods) and leaves the caller in the context. A request carrying an
// apikey header is judged by the key alone.
func (s *Server) adminKey(c *gin.Context) {
	if c.GetHeader(apiKeyHeader) == "" {
		if token, err := c.Cookie(sessionCookie); err == nil && token != "" {
			s.sessionAuth(c, token)
			return
		}
	}
	key, ok, err := s.lookupKey(c)
	switch {
	case err != nil:
		s.internalError(c, "look up api key", err)
	case !ok:
		fail(c, http.StatusUnauthorized, "invalid api key")
	case key.Scope != store.ScopeAdmin:
		fail(c, http.StatusForbidden, "admin key required")
	default:
		c.Set(callerContext, adminCaller{AccountID: key.AccountID, Actor: "key:" + key.ID, Key: &key})
		c.Next()
	}
}

// callerContext is where adminKey leaves the caller for handlers.
const callerContext = "flexauth.admin_caller"

// adminCaller is who makes an admin call: an admin API key or a console
// session, never both.
type adminCaller struct {
	// AccountID is the organisation the request acts on: the caller's
	// own, or the descendant named by ?organisation= (scopeOrganisation).
	AccountID string
	// Home is the caller's own organisation when ?organisation= named
	// another one; empty otherwise.
	Home string
	// Actor names the caller in the audit trail: "key:<key id>" or
	// "console:<authid>".
	Actor   string
	Key     *store.APIKey
	Session *store.ConsoleSession
	// token is the session cookie's value, from which the CSRF token is
	// derived. Never logged.
	token string
	name  string // the session user's name
}

// caller returns the caller adminKey let through.
func caller(c *gin.Context) adminCaller {
	v, _ := c.Get(callerContext)
	a, _ := v.(adminCaller)
	return a
}

// freshSignIn is how recent a console sign-in must be for sensitive
// changes.
const freshSignIn = 10 * time.Minute

// requireFresh guards sensitive changes (API keys, policies, two-factor
// resets and enrolment, imports): a console session must have signed in
// within freshSignIn. API keys are exempt: they are not signed in.
func (s *Server) requireFresh(c *gin.Context) {
	if s.fresh(c) {
		c.Next()
	}
}

// fresh is requireFresh for handlers whose change is sensitive only for
// some bodies or targets (a console administrator's profile, console
// assignments): it reports whether the caller may go ahead and, when not,
// has answered as requireFresh does, which the console turns into its
// re-sign-in dialog.
func (s *Server) fresh(c *gin.Context) bool {
	who := caller(c)
	if who.Session != nil && s.now().Sub(who.Session.SignedInAt) > freshSignIn {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "fresh sign-in required", "reauth": true})
		return false
	}
	return true
}
