package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
	"github.com/flexauth/flexauth/workflows"
)

// Console sessions. Console administrators are users of their account
// assigned its "console" system; signing in runs a normal attempt on that
// system (policy, method, delivery, lock-out), bound to the browser that
// started it by a sealed cookie. Every sign-in is answered alike, so that
// the page reveals no administrators. A code typed in that browser opens
// the session there; a link opens it in the browser that confirms the link
// (links.go), so that starting a sign-in for someone else gains nothing.
// A session is a random cookie, stored only as a keyed digest, with a CSRF
// token derived from it (so nothing else is stored), valid while the user
// stays active and assigned.

const (
	consoleSystem = admin.ConsoleSystem
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
	signInAAD      = "console-signin-ticket"

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
		Secure: s.secureCookie(c),
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

// signInTicket is what the flexauth_signin cookie holds, sealed: the
// attempt this browser started and when its sign-in ends. The attempt
// may not exist (an unknown account or user starts none); the ticket
// answers the same until it ends.
type signInTicket struct {
	Attempt string `json:"a"`
	Expires int64  `json:"e"` // Unix seconds
}

func (t signInTicket) expires() time.Time { return time.Unix(t.Expires, 0).UTC() }

// consoleSignInPending is the one answer to every well-formed sign-in.
type consoleSignInPending struct {
	Result    string `json:"result"`
	ExpiresAt string `json:"expires_at"`
}

// startConsoleSignIn answers every well-formed sign-in alike, before
// anything is looked up: the same body, cookie and timing whether or not
// the account exists and the user may sign in, so that the page reveals no
// administrators. The attempt is started in the background; its ID is
// drawn here and sealed into the cookie, which binds the sign-in to this
// browser.
func (s *Server) startConsoleSignIn(c *gin.Context) {
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

	ticket := signInTicket{Attempt: uuid.NewString(), Expires: s.now().Add(signInLifetime).Unix()}
	cookie, err := s.sealTicket(ticket)
	if err != nil {
		s.internalError(c, "seal sign-in ticket", err)
		return
	}
	in := workflows.AttemptInput{
		AttemptID: ticket.Attempt, AccountID: req.Account, System: consoleSystem, AuthID: req.AuthID,
		IP: c.ClientIP(), UserAgent: truncate(c.Request.UserAgent(), maxUserAgentLength),
	}
	ctx := c.Request.Context()
	if !s.bg.try(ctx, func(ctx context.Context) { s.beginConsoleSignIn(ctx, in) }) {
		s.log.WarnContext(ctx, "console sign-in dropped: too many sign-ins in flight, or shutting down", "attempt", in.AttemptID)
	}
	s.setCookie(c, signInCookie, cookie, signInPath, signInLifetime)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, consoleSignInPending{Result: resultPending, ExpiresAt: ticket.expires().Format(time.RFC3339)})
}

// beginConsoleSignIn starts the attempt of a console sign-in, after its
// answer. An unknown account starts nothing: no workflow, no attempt row.
// Everything else is the app API's start, with its policy, limits and
// audit; a refusal is recorded there and shown to nobody.
func (s *Server) beginConsoleSignIn(ctx context.Context, in workflows.AttemptInput) {
	if _, err := s.store.GetAccount(ctx, in.AccountID); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(ctx, "load account of console sign-in", "attempt", in.AttemptID, "error", err)
		}
		return
	}
	// The console's start limits are judged before anything is recorded:
	// a flood of anonymous sign-ins past them creates no workflow, no
	// attempt and no audit event (a log line says what was refused). Each
	// judgement counts the user's sign-ins let through before it.
	var reason string
	done, ok, err := s.signIns.admit(in.AccountID+"\x00"+in.AuthID, func(inFlight int) (bool, error) {
		var err error
		reason, err = s.cfg.Limits.Exceeded(ctx, s.store, admission.StartRequest{
			AccountID: in.AccountID, System: in.System, AuthID: in.AuthID, IP: in.IP, At: s.now().UTC(), InFlight: inFlight,
		})
		return reason == "", err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "judge console sign-in limits", "attempt", in.AttemptID, "error", err)
		return
	}
	if !ok {
		s.log.WarnContext(ctx, "console sign-in refused before it started", "account", in.AccountID, "ip", in.IP, "reason", reason)
		return
	}
	defer done()
	if _, err := s.beginAttempt(ctx, in); err != nil {
		s.log.ErrorContext(ctx, "start console sign-in", "attempt", in.AttemptID, "error", err)
	}
}

func (s *Server) sealTicket(t signInTicket) (string, error) {
	raw, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("encode sign-in ticket: %w", err)
	}
	sealed, err := s.keys.Seal(raw, signInAAD)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// signInTicket reads this browser's sign-in ticket, or answers why there
// is none: expired when the cookie is gone (its 15 minutes are over), a
// security error when it is not one flexauth sealed.
func (s *Server) signInTicket(c *gin.Context) (signInTicket, bool) {
	raw, err := c.Cookie(signInCookie)
	if err != nil || raw == "" {
		result(c, http.StatusForbidden, resultExpired)
		return signInTicket{}, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(sealed) > maxKeyLength {
		securityError(c)
		return signInTicket{}, false
	}
	plain, err := s.keys.Open(sealed, signInAAD)
	var t signInTicket
	if err != nil || json.Unmarshal(plain, &t) != nil || t.Attempt == "" {
		securityError(c)
		return signInTicket{}, false
	}
	return t, true
}

type consoleCheckRequest struct {
	PIN pinInput `json:"pin"`
}

// checkConsoleSignIn answers for the sign-in this browser started (never
// merely the latest of its user). Until the sign-in ends it answers
// "pending" whatever became of the attempt (none was started, it was
// denied, locked, superseded or is still waiting), so that polling reveals
// no administrators; only a success differs. A PIN or TOTP success opens
// the session here, once per attempt; a link opens it in the browser that
// confirms it (see confirmConsoleLink), which is this one only if the same
// person started and confirmed the sign-in.
func (s *Server) checkConsoleSignIn(c *gin.Context) {
	ctx := c.Request.Context()
	var req consoleCheckRequest
	if c.Request.ContentLength != 0 {
		if rerr := decodeJSON(c, &req, true); rerr != nil {
			respondError(c, rerr)
			return
		}
	}
	ticket, ok := s.signInTicket(c)
	if !ok {
		return
	}
	c.Header("Cache-Control", "no-store")
	now := s.now()
	if !now.Before(ticket.expires()) {
		s.clearSignInCookie(c)
		result(c, http.StatusForbidden, resultExpired)
		return
	}
	if s.answerOwnSession(c, ticket) {
		return
	}
	att, err := s.store.GetAttempt(ctx, ticket.Attempt)
	found := err == nil && att.System == consoleSystem
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internalError(c, "load sign-in attempt", err)
		return
	}
	switch {
	case found && att.State == store.AttemptAuthenticated && confirmedByLink(att):
		s.confirmedElsewhere(c, att, now)
	case found && att.State == store.AttemptAuthenticated:
		s.openSession(c, att)
	case req.PIN.set:
		s.checkCode(c, ticket.Attempt, att, found, req.PIN)
	default:
		respondResult(c, resultPending)
	}
}

// confirmedByLink reports whether a console attempt is completed in the
// browser that opens its link (a passwordless link, or the link that leads
// to single sign-on) rather than the one that started it.
func confirmedByLink(att store.Attempt) bool {
	return att.System == consoleSystem && (att.Method == attempt.MethodPasswordless || att.Method == attempt.MethodSSO)
}

// elsewhereAfter is how long after a link opened its session the browser
// that started the sign-in keeps hearing "pending": its poll may cross the
// confirmation's answer when the same browser confirmed.
const elsewhereAfter = 5 * time.Second

// resultConfirmedElsewhere is the reason of the "expired" answer to the
// browser that started a link sign-in confirmed in another browser.
const resultConfirmedElsewhere = "confirmed elsewhere"

// confirmedElsewhere answers the browser that started a link sign-in
// which another browser confirmed: the session is open there, and nothing
// opens here.
func (s *Server) confirmedElsewhere(c *gin.Context, att store.Attempt, now time.Time) {
	usedAt, err := s.store.ConsoleSignInUsedAt(c.Request.Context(), att.ID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && now.Sub(usedAt) < elsewhereAfter):
		// The confirming browser is still being answered.
		respondResult(c, resultPending)
	case err != nil:
		s.internalError(c, "load console sign-in", err)
	default:
		s.clearSignInCookie(c)
		c.JSON(http.StatusForbidden, gin.H{"result": resultExpired, "reason": resultConfirmedElsewhere})
	}
}

// answerOwnSession answers "authenticated" when this browser holds the
// session its sign-in opened: it confirmed its own link.
func (s *Server) answerOwnSession(c *gin.Context, ticket signInTicket) bool {
	token, err := c.Cookie(sessionCookie)
	if err != nil || token == "" || len(token) > maxKeyLength {
		return false
	}
	sess, err := s.store.GetConsoleSession(c.Request.Context(), s.sessionID(token))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.WarnContext(c.Request.Context(), "load console session of a sign-in", "error", err)
		}
		return false
	}
	now := s.now()
	if sess.AttemptID != ticket.Attempt || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= sessionIdle {
		return false
	}
	s.clearSignInCookie(c)
	c.JSON(http.StatusOK, gin.H{
		"result": resultAuthenticated, "csrf_token": s.csrfToken(token), "authid": sess.AuthID, "account": sess.AccountID,
	})
	return true
}

// checkCode submits a PIN, TOTP or recovery code and answers "pending"
// no sooner than CodeCheckFloor, unless the code signs in: a wrong code,
// a code for an attempt that does not exist or no longer takes codes, and
// a code the workflow is slow to judge all look the same. The submission
// runs in the background, so that a verdict later than the floor still
// counts; the next poll sees it.
func (s *Server) checkCode(c *gin.Context, attemptID string, att store.Attempt, found bool, pin pinInput) {
	ctx := c.Request.Context()
	floor := time.NewTimer(s.cfg.CodeCheckFloor)
	defer floor.Stop()
	if !begun(att, found) {
		// The console starts its attempts in the background: a code typed
		// quickly (or a busy worker) can arrive before the attempt has
		// begun. It waits for the beginning, within the floor, rather than
		// being dropped as "not accepted".
		att, found = s.awaitBegun(ctx, attemptID, time.Now().Add(s.cfg.CodeCheckFloor))
	}
	var verdict chan string
	takesCode := att.Method == attempt.MethodPIN || att.Method == attempt.MethodTOTP
	if found && takesCode && att.State == store.AttemptPending && !pastExpiry(att, s.now()) {
		ch := make(chan string, 1)
		submitted := s.bg.try(ctx, func(ctx context.Context) {
			r, err := s.settle(ctx, att, pin)
			if err != nil {
				s.log.ErrorContext(ctx, "check console sign-in code", "attempt", att.ID, "error", err)
			}
			ch <- r
		})
		if submitted {
			verdict = ch
		} else {
			s.log.WarnContext(ctx, "console sign-in code dropped: too many in flight, or shutting down", "attempt", att.ID)
		}
	}
	for {
		select {
		case r := <-verdict:
			if r == resultAuthenticated {
				s.openSession(c, att)
				return
			}
			verdict = nil // wait for the floor
		case <-floor.C:
			respondResult(c, resultPending)
			return
		case <-ctx.Done():
			return
		}
	}
}

// begun reports whether a console attempt has begun: its row exists and
// names its method, or it has already ended.
func begun(att store.Attempt, found bool) bool {
	return found && (att.Method != "" || att.State != store.AttemptPending)
}

// awaitBegun re-reads the console attempt id until it has begun or until
// the deadline, whichever is first, and returns it as last read.
func (s *Server) awaitBegun(ctx context.Context, id string, deadline time.Time) (store.Attempt, bool) {
	const every = 100 * time.Millisecond
	for {
		att, err := s.store.GetAttempt(ctx, id)
		found := err == nil && att.System == consoleSystem
		if begun(att, found) || time.Until(deadline) < every {
			return att, found
		}
		select {
		case <-ctx.Done():
			return att, found
		case <-time.After(every):
		}
	}
}

// Why a session cannot be opened for an authenticated attempt.
var (
	errSignInRefused = errors.New("user may no longer sign in to the console")
	errSignInUsed    = errors.New("sign-in attempt has opened its session already")
)

// createSession opens the session of an authenticated console attempt,
// once per attempt, for the browser of this request, and returns its
// cookie value.
func (s *Server) createSession(c *gin.Context, att store.Attempt) (string, store.User, error) {
	ctx := c.Request.Context()
	user, err := s.store.GetUser(ctx, att.AccountID, att.AuthID)
	if err == nil {
		// Disabled or unassigned since the attempt began: no session.
		_, err = s.store.ConsoleUser(ctx, user.ID, consoleSystem)
	}
	if errors.Is(err, store.ErrNotFound) {
		return "", store.User{}, errSignInRefused
	}
	if err != nil {
		return "", store.User{}, fmt.Errorf("load console user: %w", err)
	}
	token, err := secret.NewToken()
	if err != nil {
		return "", store.User{}, fmt.Errorf("draw session token: %w", err)
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
		return "", store.User{}, errSignInUsed
	}
	if err != nil {
		return "", store.User{}, fmt.Errorf("open console session: %w", err)
	}
	// A sign-in again (for a fresh session) replaces the browser's old one.
	if old, err := c.Cookie(sessionCookie); err == nil && old != "" && len(old) <= maxKeyLength {
		s.endSession(c, s.sessionID(old))
	}
	s.setCookie(c, sessionCookie, token, "/", sessionLifetime)
	return token, user, nil
}

// openSession opens the session of a sign-in authenticated by a code in
// this browser and answers with it.
func (s *Server) openSession(c *gin.Context, att store.Attempt) {
	token, user, err := s.createSession(c, att)
	switch {
	case errors.Is(err, errSignInRefused):
		s.clearSignInCookie(c)
		securityError(c)
		return
	case errors.Is(err, errSignInUsed):
		s.clearSignInCookie(c)
		result(c, http.StatusForbidden, resultExpired)
		return
	case err != nil:
		s.internalError(c, "open console session", err)
		return
	}
	s.clearSignInCookie(c)
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
