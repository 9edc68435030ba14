package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// Console sessions. Console administrators are users of their account
// assigned its "console" system; signing in runs a normal attempt on that
// system (policy, method, delivery, lock-out), bound to the browser by a
// sealed cookie. Success opens a session: a random cookie, stored only as a
// keyed digest, with a CSRF token derived from it (so nothing else is
// stored), valid while the user stays active and assigned.

const (
	consoleSystem = "console"
	sessionCookie = "flexauth_session"
	signInCookie  = "flexauth_signin"
	signInPath    = "/v1/admin/session"
	csrfHeader    = "X-CSRF-Token"

	sessionIdle     = 30 * time.Minute
	sessionLifetime = 12 * time.Hour
	signInLifetime  = 15 * time.Minute
	// sessionTouchResolution keeps last_seen_at fresh enough for the idle
	// timeout with at most one write a minute per session.
	sessionTouchResolution = time.Minute

	maxAccountLength = 100

	// Digest purposes and associated data; each keeps its values apart
	// from every other use of the keyring.
	sessionPurpose = "console-session"
	csrfPurpose    = "console-csrf"
	signInAAD      = "console-signin"

	// Audit event types.
	eventSignedIn  = "console.signed_in"
	eventSignedOut = "console.signed_out"
)

func (s *Server) sessionID(token string) string { return s.keys.Digest(sessionPurpose, token) }
func (s *Server) csrfToken(token string) string { return s.keys.Digest(csrfPurpose, token) }

// setCookie sets an HttpOnly, SameSite=Strict cookie; Secure when the
// request came over TLS or the public URL is https. maxAge < 0 deletes it.
func (s *Server) setCookie(c *gin.Context, name, value, path string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.Request.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://"),
	}
	if maxAge < 0 {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(c.Writer, ck)
}

func (s *Server) clearSessionCookie(c *gin.Context) { s.setCookie(c, sessionCookie, "", "/", -1) }
func (s *Server) clearSignInCookie(c *gin.Context)  { s.setCookie(c, signInCookie, "", signInPath, -1) }

// sessionExpired answers a session that is unknown, timed out or revoked.
func (s *Server) sessionExpired(c *gin.Context) {
	s.clearSessionCookie(c)
	fail(c, http.StatusUnauthorized, "session expired")
}

// unsafeMethod reports whether a request may change something, and so
// must prove with its CSRF token that the console sent it.
func unsafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// sessionAuth lets a request through on the console session whose cookie
// is token, or answers why not.
func (s *Server) sessionAuth(c *gin.Context, token string) {
	ctx := c.Request.Context()
	if len(token) > maxKeyLength {
		s.sessionExpired(c)
		return
	}
	sess, err := s.store.GetConsoleSession(ctx, s.sessionID(token))
	if errors.Is(err, store.ErrNotFound) {
		s.sessionExpired(c)
		return
	}
	if err != nil {
		s.internalError(c, "load console session", err)
		return
	}
	now := s.now().UTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= sessionIdle {
		s.endSession(c, sess.ID)
		s.sessionExpired(c)
		return
	}
	// Checked on every request, so that revocation is immediate.
	user, err := s.store.ConsoleUser(ctx, sess.UserID, consoleSystem)
	if errors.Is(err, store.ErrNotFound) {
		s.endSession(c, sess.ID)
		s.sessionExpired(c)
		return
	}
	if err != nil {
		s.internalError(c, "check console user", err)
		return
	}
	if unsafeMethod(c.Request.Method) && !secret.Equal(c.GetHeader(csrfHeader), s.csrfToken(token)) {
		fail(c, http.StatusForbidden, "csrf token missing or wrong")
		return
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchResolution {
		// Losing the update costs a minute of idle time at most.
		if err := s.store.TouchConsoleSession(ctx, sess.ID, now); err != nil {
			s.log.WarnContext(ctx, "record console session use", "authid", sess.AuthID, "error", err)
		} else {
			sess.LastSeenAt = now
		}
	}
	c.Set(callerContext, adminCaller{
		AccountID: sess.AccountID, Actor: "console:" + sess.AuthID, Session: &sess, token: token, name: user.Name,
	})
	c.Next()
}

// endSession removes a session that can no longer be used. A failure
// leaves a dead row behind, which is refused again next time.
func (s *Server) endSession(c *gin.Context, id string) {
	err := s.store.DeleteConsoleSession(c.Request.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.WarnContext(c.Request.Context(), "remove ended console session", "error", err)
	}
}

// sessionOnly is the middleware of the calls about the session itself:
// they need a console session, an API key will not do.
func (s *Server) sessionOnly(c *gin.Context) {
	token, err := c.Cookie(sessionCookie)
	if err != nil || token == "" {
		fail(c, http.StatusUnauthorized, "not signed in")
		return
	}
	s.sessionAuth(c, token)
}

type consoleSignInRequest struct {
	Account string `json:"account"`
	AuthID  string `json:"authid"`
}

// startConsoleSignIn starts an attempt on the account's console system
// and binds it to this browser. Refusals are the app API's security error,
// at the same timing floor: the sign-in page must not reveal which
// accounts and administrators exist.
func (s *Server) startConsoleSignIn(c *gin.Context) {
	began := time.Now()
	ctx := c.Request.Context()
	var req consoleSignInRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	sub := subject{System: consoleSystem, AuthID: req.AuthID}
	switch {
	case req.Account == "":
		fail(c, http.StatusBadRequest, "account is required")
		return
	case utf8.RuneCountInString(req.Account) > maxAccountLength:
		failf(c, http.StatusBadRequest, "account must be at most %d characters", maxAccountLength)
		return
	}
	if rerr := firstError(checked(userio.CheckText("account", req.Account)), sub.validate()); rerr != nil {
		respondError(c, rerr)
		return
	}

	// An unknown account is refused before any attempt is recorded for it.
	_, err := s.store.GetAccount(ctx, req.Account)
	if err != nil {
		s.padStart(ctx, began)
		if errors.Is(err, store.ErrNotFound) {
			securityError(c)
			return
		}
		s.internalError(c, "load account", err)
		return
	}
	res, err := s.beginFor(c, req.Account, sub)
	s.padStart(ctx, began)
	switch {
	case err != nil:
		s.unavailable(c, "start console sign-in", err)
		return
	case !res.Allowed:
		securityError(c)
		return
	}
	sealed, err := s.keys.Seal([]byte(res.AttemptID), signInAAD)
	if err != nil {
		s.internalError(c, "seal sign-in attempt", err)
		return
	}
	s.setCookie(c, signInCookie, base64.RawURLEncoding.EncodeToString(sealed), signInPath, signInLifetime)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{
		"result": resultPending, "method": res.Method, "expires_at": res.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

type consoleCheckRequest struct {
	PIN pinInput `json:"pin"`
}

// checkConsoleSignIn answers for the attempt this browser started (never
// merely the latest of its user) and, once it is authenticated, opens a
// session: once per attempt.
func (s *Server) checkConsoleSignIn(c *gin.Context) {
	ctx := c.Request.Context()
	var req consoleCheckRequest
	if c.Request.ContentLength != 0 {
		if rerr := decodeJSON(c, &req, true); rerr != nil {
			respondError(c, rerr)
			return
		}
	}
	raw, err := c.Cookie(signInCookie)
	if err != nil || raw == "" {
		// The 15-minute cookie is gone: the sign-in has to start again.
		result(c, http.StatusForbidden, resultExpired)
		return
	}
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(sealed) > maxKeyLength {
		securityError(c)
		return
	}
	attemptID, err := s.keys.Open(sealed, signInAAD)
	if err != nil {
		securityError(c)
		return
	}
	att, err := s.store.GetAttempt(ctx, string(attemptID))
	if errors.Is(err, store.ErrNotFound) || (err == nil && att.System != consoleSystem) {
		securityError(c)
		return
	}
	if err != nil {
		s.internalError(c, "load sign-in attempt", err)
		return
	}
	r, err := s.settle(ctx, att, req.PIN)
	if err != nil {
		s.settleFailed(c, err)
		return
	}
	if r == resultSecurityError && req.PIN.set {
		// A wrong code leaves the attempt pending until the policy's limit
		// locks it: the person may correct a typo, so the sign-in (and its
		// cookie) stays usable and the answer is "pending", as the console
		// expects. A locked attempt still ends the sign-in below.
		cur, err := s.store.GetAttempt(ctx, att.ID)
		if err != nil {
			s.internalError(c, "reload sign-in attempt", err)
			return
		}
		if s.rowResult(cur, s.now()) == resultPending {
			respondResult(c, resultPending)
			return
		}
	}
	if r != resultAuthenticated {
		if r != resultPending {
			s.clearSignInCookie(c)
		}
		respondResult(c, r)
		return
	}
	s.openSession(c, att)
}

// openSession opens the session of an authenticated sign-in attempt.
func (s *Server) openSession(c *gin.Context, att store.Attempt) {
	ctx := c.Request.Context()
	user, err := s.store.GetUser(ctx, att.AccountID, att.AuthID)
	if err == nil {
		// Disabled or unassigned since the attempt began: no session.
		_, err = s.store.ConsoleUser(ctx, user.ID, consoleSystem)
	}
	if errors.Is(err, store.ErrNotFound) {
		s.clearSignInCookie(c)
		securityError(c)
		return
	}
	if err != nil {
		s.internalError(c, "load console user", err)
		return
	}
	token, err := secret.NewToken()
	if err != nil {
		s.internalError(c, "draw session token", err)
		return
	}
	now := s.now().UTC()
	ip := c.ClientIP()
	sess := store.ConsoleSession{
		ID: s.sessionID(token), AccountID: att.AccountID, UserID: user.ID, AuthID: user.AuthID, AttemptID: att.ID,
		SignedInAt: now, LastSeenAt: now, ExpiresAt: now.Add(sessionLifetime),
		IP: ip, UserAgent: truncate(c.Request.UserAgent(), maxUserAgentLength),
	}
	ev := store.AuditEvent{
		AccountID: att.AccountID, Time: now, Type: eventSignedIn, System: consoleSystem, AuthID: user.AuthID,
		AttemptID: att.ID, IP: ip, Detail: map[string]any{"actor": "console:" + user.AuthID},
	}
	err = s.store.CreateConsoleSession(ctx, &sess, now.Add(-sessionIdle), ev)
	if errors.Is(err, store.ErrConflict) {
		// This attempt has opened its session already.
		s.clearSignInCookie(c)
		result(c, http.StatusForbidden, resultExpired)
		return
	}
	if err != nil {
		s.internalError(c, "open console session", err)
		return
	}
	// A sign-in again (for a fresh session) replaces the browser's old one.
	if old, err := c.Cookie(sessionCookie); err == nil && old != "" && len(old) <= maxKeyLength {
		s.endSession(c, s.sessionID(old))
	}
	s.clearSignInCookie(c)
	s.setCookie(c, sessionCookie, token, "/", sessionLifetime)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{
		"result": resultAuthenticated, "csrf_token": s.csrfToken(token), "authid": user.AuthID, "account": att.AccountID,
	})
}

// getConsoleSession describes the caller's session.
func (s *Server) getConsoleSession(c *gin.Context) {
	who := caller(c)
	sess := who.Session
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{
		"account": sess.AccountID, "authid": sess.AuthID, "name": who.name, "csrf_token": s.csrfToken(who.token),
		"signed_in_at": sess.SignedInAt.UTC(), "idle_expires_at": sess.LastSeenAt.Add(sessionIdle).UTC(),
		"expires_at": sess.ExpiresAt.UTC(), "fresh": s.now().Sub(sess.SignedInAt) <= freshSignIn,
	})
}

// deleteConsoleSession signs out: the session is deleted server-side.
func (s *Server) deleteConsoleSession(c *gin.Context) {
	sess := caller(c).Session
	now := s.now().UTC()
	ev := store.AuditEvent{
		AccountID: sess.AccountID, Time: now, Type: eventSignedOut, System: consoleSystem, AuthID: sess.AuthID,
		IP: c.ClientIP(), Detail: map[string]any{"actor": "console:" + sess.AuthID},
	}
	err := s.store.DeleteConsoleSession(c.Request.Context(), sess.ID, ev)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internalError(c, "delete console session", err)
		return
	}
	s.clearSessionCookie(c)
	c.Status(http.StatusNoContent)
}
