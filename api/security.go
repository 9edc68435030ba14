package api

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
	"github.com/flexauth/flexauth/workflows"
)

// The security settings flexauth hosts for every user who signs in with
// email and password, at /security/{account}.
//
// Signing in is a password attempt of the reserved system @security
// (attempt.SecuritySystem): the form here takes the email and the
// password, starts the attempt and submits the password exactly as the
// hosted sign-in page does (sealed on the attempt, the browser bound by
// its cookie), then sends the browser to the attempt's page for the second
// factor (or forced enrolment). That page, once the attempt authenticates,
// opens a settings session (openSecuritySession) instead of sending the
// user to an application. Unknown address, wrong password, a locked
// password and a switched-off account or user all get the same page and
// status, no sooner than SecuritySignInFloor.
//
// A session is a random cookie (HttpOnly, SameSite=Lax, path /security/)
// stored only as a keyed digest, with a CSRF token derived from it in a
// hidden field of every form, ending after 30 minutes idle or 8 hours, or
// at once when the user may no longer sign in with a password. Sensitive
// changes need the sign-in to be under 10 minutes old.

const (
	securityPath           = "/security/"
	securityCookie         = "flexauth_security"
	securitySessionIdle    = 30 * time.Minute
	securitySessionMax     = 8 * time.Hour
	securityFreshness      = 10 * time.Minute
	securitySessionPurpose = "security-session"
	securityCSRFPurpose    = "security-csrf"
	// securityOpenWindow bounds how long after its sign-in a session can
	// be opened (the attempt's final page, reloaded).
	securityOpenWindow = 5 * time.Minute
	// maxSessionPasswordFailures wrong current passwords end a session:
	// guessing goes back through the sign-in and its lock-out.
	maxSessionPasswordFailures = 5
	// defaultSecuritySignInFloor is how long a sign-in POST takes at least.
	defaultSecuritySignInFloor = 600 * time.Millisecond

	eventSecuritySignedIn  = "security.signed_in"
	eventSecuritySignedOut = "security.signed_out"
)

// securityStore is the persistence of the security settings and the
// pages around them.
type securityStore interface {
	PasswordUsersByEmail(ctx context.Context, accountID, email string, limit int) ([]store.User, error)
	CreateUserSession(ctx context.Context, sess *store.UserSession, events ...store.AuditEvent) error
	GetUserSession(ctx context.Context, id string) (store.UserSession, error)
	TouchUserSession(ctx context.Context, id string, at time.Time) error
	EndUserSession(ctx context.Context, id string, at time.Time, events ...store.AuditEvent) error
	CountSessionPasswordFailure(ctx context.Context, id string) (int, error)
	EnrolTOTP(ctx context.Context, e store.TOTPEnrolment) error
	ReplaceRecoveryCodesWith(ctx context.Context, userID string, codes []store.RecoveryCode, rec store.ChangeRecord) error
	ResetTwoFactorWith(ctx context.Context, userID string, at time.Time, rec store.ChangeRecord) error
	ActivateTOTPWith(ctx context.Context, userID string, sealed []byte, step int64, at time.Time, rec store.ChangeRecord) error
	ChangePassword(ctx context.Context, p store.PasswordChange) error
	RequestSelfServiceLink(ctx context.Context, r store.SelfServiceLink, events ...store.AuditEvent) error
	VerifyEmail(ctx context.Context, v store.EmailVerification, events ...store.AuditEvent) error
}

var _ securityStore = (*store.Store)(nil)

// securityBase is the settings' URL path of account.
func securityBase(accountID string) string { return securityPath + url.PathEscape(accountID) }

// securityAccount is the request's account, or false for one no account
// can be named (too long, control characters): 404.
func (s *Server) securityAccount(c *gin.Context) (string, bool) {
	id := c.Param("account")
	if id == "" || utf8.RuneCountInString(id) > maxAccountLength || userio.CheckText("account", id) != nil {
		s.renderPage(c, http.StatusNotFound, page{Title: "This page does not exist", Message: "Check the address."})
		return "", false
	}
	return id, true
}

// signInPage is the sign-in form of account, the same for every account
// name, known or not.
func (s *Server) signInPage(accountID, email, refusal string) securityPage {
	return securityPage{
		Title: "Sign in to your security settings", Error: refusal, SignIn: true, Email: email,
		Base: securityBase(accountID), Forgot: s.forgotURL(accountID),
	}
}

// securityRefused is the one answer to every sign-in that does not go on.
const securityRefused = "The email or password is not right."

// securitySession is a valid settings session with what it is about.
type securitySession struct {
	sess    store.UserSession
	user    store.User
	account store.Account
	token   string
}

// fresh reports whether the session's sign-in is recent enough for a
// sensitive change.
func (ss securitySession) fresh(now time.Time) bool {
	return now.Sub(ss.sess.AuthenticatedAt) <= securityFreshness
}

// loadSecuritySession finds the request's settings session for account.
// found is false without a session, or with one that ended, belongs to
// another account, or whose user may no longer sign in with a password
// (its cookie is then cleared).
func (s *Server) loadSecuritySession(c *gin.Context, accountID string) (securitySession, bool, error) {
	token, err := c.Cookie(securityCookie)
	if err != nil || !wellFormedToken(token) {
		return securitySession{}, false, nil
	}
	ctx := c.Request.Context()
	sess, err := s.store.GetUserSession(ctx, s.keys.Digest(securitySessionPurpose, token))
	if errors.Is(err, store.ErrNotFound) {
		s.clearSecurityCookie(c)
		return securitySession{}, false, nil
	}
	if err != nil {
		return securitySession{}, false, err
	}
	if sess.AccountID != accountID {
		// Another organisation's session: not this one's, and kept.
		return securitySession{}, false, nil
	}
	now := s.now().UTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= securitySessionIdle {
		s.clearSecurityCookie(c)
		return securitySession{}, false, nil
	}
	ss := securitySession{sess: sess, token: token}
	if ss.user, err = s.store.UserByID(ctx, sess.UserID); errors.Is(err, store.ErrNotFound) {
		s.clearSecurityCookie(c)
		return securitySession{}, false, nil
	} else if err != nil {
		return securitySession{}, false, err
	}
	if ss.account, err = s.store.GetAccount(ctx, accountID); err != nil {
		return securitySession{}, false, err
	}
	// Checked on every request: a user disabled or switched off is out at once.
	if ss.user.Status != store.UserActive || !ss.user.EmailPasswordLogin || !ss.account.EmailPasswordLogin || ss.user.PasswordHash == "" {
		if err := s.store.EndUserSession(ctx, sess.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.WarnContext(ctx, "end a user session", "error", err)
		}
		s.clearSecurityCookie(c)
		return securitySession{}, false, nil
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchResolution {
		if err := s.store.TouchUserSession(ctx, sess.ID, now); err != nil {
			s.log.WarnContext(ctx, "record user session use", "error", err)
		}
	}
	return ss, true, nil
}

func (s *Server) securityCSRF(token string) string { return s.keys.Digest(securityCSRFPurpose, token) }

func (s *Server) setSecurityCookie(c *gin.Context, value string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: securityCookie, Value: value, Path: securityPath, HttpOnly: true,
		// Lax: the final page of the sign-in sends the browser here.
		SameSite: http.SameSiteLaxMode,
		Secure:   s.secureCookie(c),
	}
	if maxAge < 0 {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(c.Writer, ck)
}

func (s *Server) clearSecurityCookie(c *gin.Context) { s.setSecurityCookie(c, "", -1) }

// showSecurity shows the settings to a signed-in user, the sign-in form
// to anyone else.
func (s *Server) showSecurity(c *gin.Context) {
	accountID, ok := s.securityAccount(c)
	if !ok {
		return
	}
	ss, found, err := s.loadSecuritySession(c, accountID)
	switch {
	case err != nil:
		s.securityUnavailable(c, "load user session", err)
	case !found:
		s.renderSecurity(c, http.StatusOK, s.signInPage(accountID, "", ""))
	default:
		s.renderSettings(c, http.StatusOK, ss, securityPage{})
	}
}

// renderSettings shows the settings with p's message, error, codes or
// enrolment.
func (s *Server) renderSettings(c *gin.Context, status int, ss securitySession, p securityPage) {
	ctx := c.Request.Context()
	left, err := s.store.CountUnusedRecoveryCodes(ctx, ss.user.ID)
	if err != nil {
		s.securityUnavailable(c, "count recovery codes", err)
		return
	}
	u, now := ss.user, s.now().UTC()
	lastUsed := "Not yet"
	if u.TOTPLastStep > 0 {
		at := time.Unix(u.TOTPLastStep*attempt.TOTPPeriod, 0)
		lastUsed = pageTime(&at)
	}
	changed := u.PasswordChangedAt
	if changed == nil {
		changed = u.PasswordSetAt
	}
	freshUntil := ss.sess.AuthenticatedAt.Add(securityFreshness)
	p.Title = "Security settings"
	p.Base, p.CSRF = securityBase(ss.account.ID), s.securityCSRF(ss.token)
	p.Settings = &securitySettings{
		Email: u.Email, Org: organisation(ss.account),
		TOTPEnabled: u.TOTPEnabled, TOTPEnabledAt: pageTime(u.TOTPEnabledAt), TOTPLastUsed: lastUsed,
		CodesLeft: left, CodesTotal: recoveryCodeCount,
		EmailVerifiedAt: pageTime(u.EmailVerifiedAt), ResetAt: pageTime(u.TwoFactorResetAt),
		PasswordChangedAt: pageTime(changed), LastLogin: pageTime(u.LastLoginAt), LastIP: u.LastIP,
		Rules: s.passwords.Rules(), Fresh: ss.fresh(now),
		SignedInAt: pageTime(&ss.sess.AuthenticatedAt), FreshUntil: pageTime(&freshUntil),
	}
	s.renderSecurity(c, status, p)
}

func (s *Server) securityUnavailable(c *gin.Context, what string, err error) {
	s.log.ErrorContext(c.Request.Context(), what, "error", err)
	s.renderSecurity(c, http.StatusServiceUnavailable, securityPage{Title: "Security settings are unavailable right now", Message: "Try again in a moment."})
}

// signInToSecurity takes the sign-in form. Every outcome but the right
// password for a known user answers alike, no sooner than the floor; the
// right one sends the browser to its attempt's page for the second factor.
func (s *Server) signInToSecurity(c *gin.Context) {
	began := time.Now()
	accountID, ok := s.securityAccount(c)
	if !ok {
		return
	}
	if !s.sameOrigin(c.Request) {
		s.renderSecurity(c, http.StatusForbidden, securityPage{
			Title:   "Sign in on the security settings page",
			Message: "This form did not come from flexauth's own page. Open your security settings again and sign in there.",
			Next:    securityBase(accountID), NextText: "Go to the security settings",
		})
		return
	}
	ctx := c.Request.Context()
	if err := c.Request.ParseForm(); err != nil {
		s.padTo(ctx, began, s.cfg.SecuritySignInFloor)
		s.renderSecurity(c, http.StatusBadRequest, s.signInPage(accountID, "", "The form could not be read. Try again."))
		return
	}
	email := strings.TrimSpace(c.Request.PostForm.Get("email"))
	// Used as typed: never trimmed, cut or logged.
	plain := c.Request.PostForm.Get("password")
	// Every answer carries the binding cookie, so that headers do not tell
	// a known user from an unknown one either.
	cookie, err := s.bindingCookie(c)
	if err != nil {
		s.securityUnavailable(c, "draw browser binding", err)
		return
	}
	next, err := s.securityPassword(c, accountID, email, plain, cookie)
	s.padTo(ctx, began, s.cfg.SecuritySignInFloor)
	switch {
	case err != nil:
		s.securityUnavailable(c, "sign in to the security settings", err)
	case next == "":
		s.renderSecurity(c, http.StatusUnprocessableEntity, s.signInPage(accountID, email, securityRefused))
	default:
		c.Redirect(http.StatusSeeOther, next)
		c.Abort()
	}
}

// securityPassword looks the address up among the account's users who can
// sign in with a password and, for exactly one, starts a sign-in to the
// settings and submits the password. next is the attempt's page when the
// password was right, "" for every refusal. An unknown address costs a
// password check all the same.
func (s *Server) securityPassword(c *gin.Context, accountID, email, plain, cookie string) (next string, err error) {
	ctx := c.Request.Context()
	// An address no user can have (a NUL, which PostgreSQL refuses in a
	// parameter, invalid UTF-8) is refused like an unknown one.
	if plain == "" || len(plain) > maxPasswordBytes || email == "" || len(email) > maxEmailLength || userio.CheckText("email", email) != nil {
		s.dummyPasswordCheck(plain)
		return "", nil
	}
	users, err := s.store.PasswordUsersByEmail(ctx, accountID, email, 2)
	if err != nil {
		return "", err
	}
	if len(users) != 1 {
		// Unknown, or an address several users share (ambiguous: an
		// administrator must give them their own).
		s.dummyPasswordCheck(plain)
		return "", nil
	}
	// The limits are judged before anything is recorded, as for the
	// console's sign-ins: a flood of sign-ins naming a user creates no
	// workflow, attempt or audit event past them, and never spends the
	// user's application starts.
	var reason string
	done, ok, err := s.signIns.admit(accountID+"\x00"+attempt.SecuritySystem+"\x00"+users[0].AuthID, func(inFlight int) (bool, error) {
		var err error
		reason, err = s.cfg.Limits.Exceeded(ctx, s.store, admission.StartRequest{
			AccountID: accountID, System: attempt.SecuritySystem, AuthID: users[0].AuthID, IP: c.ClientIP(), At: s.now().UTC(), InFlight: inFlight,
		})
		return reason == "", err
	})
	if err != nil {
		return "", err
	}
	if !ok {
		s.log.WarnContext(ctx, "security settings sign-in refused before it started", "account", accountID, "ip", c.ClientIP(), "reason", reason)
		s.dummyPasswordCheck(plain)
		return "", nil
	}
	res, token, err := s.beginFor(c, accountID, subject{System: attempt.SecuritySystem, AuthID: users[0].AuthID})
	done()
	if err != nil {
		return "", err
	}
	if !res.Allowed {
		return "", nil
	}
	att, err := s.store.GetAttempt(ctx, res.AttemptID)
	if err != nil {
		return "", err
	}
	updateID := uuid.NewString()
	key := attempt.PasswordSecretKey(updateID)
	sealed, err := s.keys.Seal([]byte(plain), attempt.SecretAAD(att.ID, key))
	if err != nil {
		return "", err
	}
	stored, err := s.store.PutAttemptSecret(ctx, store.AttemptSecret{AttemptID: att.ID, Key: key, Sealed: sealed, CreatedAt: s.now().UTC()})
	if err != nil || !stored {
		return "", err
	}
	browser := attempt.BrowserDigest(s.keys, att.ID, cookie)
	v, err := s.submitAs(ctx, att, workflows.UpdateSubmitPassword, updateID, workflows.Submission{AttemptID: att.ID, Browser: browser})
	switch {
	case errors.Is(err, errAttemptClosed):
		return "", nil
	case err != nil:
		return "", err
	case v.Verdict != workflows.VerdictAccepted:
		return "", nil
	}
	return attempt.PagePath + token, nil
}

// dummyPasswordCheck spends on a password that has no user the work a
// real check would: a hash comparison that always fails.
//
// At most dummyChecks run at once: each holds argon2id's memory, and the
// answer's 600 ms floor hides their time anyway, so a flood of unknown
// addresses past the bound skips the work rather than queueing for it.
func (s *Server) dummyPasswordCheck(plain string) {
	select {
	case s.dummyChecks <- struct{}{}:
		defer func() { <-s.dummyChecks }()
	default:
		return
	}
	s.dummyHashOnce.Do(func() {
		s.dummyHash, _ = s.passwords.Hash("flexauth: no user has this password " + uuid.NewString())
	})
	if s.dummyHash != "" {
		_, _, _ = s.passwords.Verify(plain, s.dummyHash)
	}
}

// padTo waits until floor has passed since began, or the client has gone.
func (s *Server) padTo(ctx context.Context, began time.Time, floor time.Duration) {
	wait := floor - time.Since(began)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// secureCookie says whether the cookies of c's answer are Secure: when the
// request came over TLS or the public URL is https (behind a proxy that
// ends TLS). Only the plain-http dev setup leaves it off, where a browser
// would drop a Secure cookie.
func (s *Server) secureCookie(c *gin.Context) bool {
	return c.Request.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://")
}

// bindingCookie is the request's browser binding cookie (attempt.
// PagePath), set anew when it has none.
func (s *Server) bindingCookie(c *gin.Context) (string, error) {
	if cookie, ok := s.requestBinding(c); ok {
		return cookie, nil
	}
	cookie, err := secret.NewToken()
	if err != nil {
		return "", err
	}
	// The rest of this request (the next step's page) sees it too.
	c.Set(newBindingKey, cookie)
	http.SetCookie(c.Writer, &http.Cookie{
		Name: pageCookie, Value: cookie, Path: attempt.PagePath,
		HttpOnly: true, Secure: s.secureCookie(c),
		SameSite: http.SameSiteLaxMode,
	})
	return cookie, nil
}

// newBindingKey holds, in a request's context, the binding cookie its
// answer sets.
const newBindingKey = "flexauth.binding"

// requestBinding is the binding cookie the request carries, or the one its
// answer sets.
func (s *Server) requestBinding(c *gin.Context) (string, bool) {
	if v, ok := c.Get(newBindingKey); ok {
		return v.(string), true
	}
	cookie, err := c.Cookie(pageCookie)
	return cookie, err == nil && wellFormedToken(cookie)
}

// openSecuritySession ends a sign-in to the settings (the attempt's final
// page, in the browser bound to it): a session, once per sign-in and only
// shortly after it, and the way to the settings, or the recovery codes an
// enrolment drew first.
func (s *Server) openSecuritySession(c *gin.Context, att store.Attempt, codes []string) {
	ctx := c.Request.Context()
	now := s.now().UTC()
	p := signinPage{Title: "You are signed in to your security settings"}
	base := securityBase(att.AccountID)
	p.Next, p.NextText = template.URL(base), "Continue to your security settings"
	if len(codes) > 0 {
		p.Codes = codes
		p.Message = "Your authenticator app is set up. From now on, signing in asks for your password and a code from the app."
		c.Header("Cache-Control", "no-store")
	} else {
		p.Continue = p.Next
	}
	authenticated := now
	if att.CompletedAt != nil {
		authenticated = att.CompletedAt.UTC()
	}
	if now.Sub(authenticated) > securityOpenWindow {
		s.renderSignin(c, http.StatusGone, goneSignin())
		return
	}
	user, err := s.store.GetUser(ctx, att.AccountID, att.AuthID)
	if err != nil {
		s.pageUnavailable(c, "load user of security sign-in", err)
		return
	}
	token, err := secret.NewToken()
	if err != nil {
		s.pageUnavailable(c, "draw user session", err)
		return
	}
	sess := store.UserSession{
		ID: s.keys.Digest(securitySessionPurpose, token), AccountID: att.AccountID, UserID: user.ID, AttemptID: att.ID,
		AuthenticatedAt: authenticated, LastSeenAt: now, ExpiresAt: now.Add(securitySessionMax),
		IP: c.ClientIP(), UserAgent: truncate(c.Request.UserAgent(), maxUserAgentLength),
	}
	ev := store.AuditEvent{
		AccountID: att.AccountID, Time: now, Type: eventSecuritySignedIn, System: attempt.SecuritySystem, AuthID: att.AuthID,
		AttemptID: att.ID, IP: c.ClientIP(), Reasons: []string{"signed in to the security settings"},
		Detail: map[string]any{"actor": "user:" + att.AuthID},
	}
	switch err := s.store.CreateUserSession(ctx, &sess, ev); {
	case errors.Is(err, store.ErrConflict):
		// This sign-in opened its session already (a reload): the link on.
		p.Continue, p.Message = "", "Your security settings are open in this browser, or sign in again."
		s.renderSignin(c, http.StatusOK, p)
		return
	case err != nil:
		s.pageUnavailable(c, "open user session", err)
		return
	}
	s.setSecurityCookie(c, token, securitySessionMax)
	s.renderSignin(c, http.StatusOK, p)
}

// signOutOfSecurity ends the session.
func (s *Server) signOutOfSecurity(c *gin.Context) {
	ss, ok := s.securityForm(c, false)
	if !ok {
		return
	}
	now := s.now().UTC()
	ev := s.userEvent(c, ss, eventSecuritySignedOut, "signed out of the security settings")
	if err := s.store.EndUserSession(c.Request.Context(), ss.sess.ID, now, ev); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.securityUnavailable(c, "end user session", err)
		return
	}
	s.clearSecurityCookie(c)
	p := s.signInPage(ss.account.ID, ss.user.Email, "")
	p.Message = "You are signed out."
	s.renderSecurity(c, http.StatusOK, p)
}

// securityForm admits a settings form: posted by the page itself, in a
// session, with the session's CSRF token and, when sensitive, a recent
// sign-in. Otherwise it answers and reports false.
func (s *Server) securityForm(c *gin.Context, sensitive bool) (securitySession, bool) {
	accountID, ok := s.securityAccount(c)
	if !ok {
		return securitySession{}, false
	}
	if !s.sameOrigin(c.Request) {
		s.renderSecurity(c, http.StatusForbidden, securityPage{
			Title:   "Change your settings on the security settings page",
			Message: "This form did not come from flexauth's own page, and nothing was changed.",
			Next:    securityBase(accountID), NextText: "Go to the security settings",
		})
		return securitySession{}, false
	}
	ss, found, err := s.loadSecuritySession(c, accountID)
	if err != nil {
		s.securityUnavailable(c, "load user session", err)
		return securitySession{}, false
	}
	if !found {
		p := s.signInPage(accountID, "", "")
		p.Message = "Your session has ended, and nothing was changed. Sign in again."
		s.renderSecurity(c, http.StatusUnauthorized, p)
		return securitySession{}, false
	}
	if err := c.Request.ParseForm(); err != nil {
		s.renderSettings(c, http.StatusBadRequest, ss, securityPage{Error: "The form could not be read. Try again."})
		return securitySession{}, false
	}
	if !secret.Equal(c.Request.PostForm.Get("csrf"), s.securityCSRF(ss.token)) {
		s.renderSettings(c, http.StatusForbidden, ss, securityPage{Error: "This form is out of date, and nothing was changed. Try again from this page."})
		return securitySession{}, false
	}
	if sensitive && !ss.fresh(s.now().UTC()) {
		p := s.signInPage(accountID, ss.user.Email, "")
		p.Title = "Sign in again to make this change"
		p.Message = "Changing your authenticator app, recovery codes, two-step verification or password needs a sign-in within the last 10 minutes. Nothing was changed: sign in, then make the change again."
		s.renderSecurity(c, http.StatusForbidden, p)
		return securitySession{}, false
	}
	return ss, true
}

// userEvent is an audit event of a change the session's user made.
func (s *Server) userEvent(c *gin.Context, ss securitySession, typ, reason string) store.AuditEvent {
	return store.AuditEvent{
		AccountID: ss.account.ID, Time: s.now().UTC(), Type: typ, System: attempt.SecuritySystem, AuthID: ss.user.AuthID,
		IP: c.ClientIP(), Reasons: []string{reason}, Detail: map[string]any{"actor": "user:" + ss.user.AuthID},
	}
}

// noticeFor is the notice of kind to u about a change made from this
// request, or nil when u has no address.
func (s *Server) noticeFor(c *gin.Context, u store.User, kind, by string) *store.CredentialLink {
	if u.Email == "" {
		return nil
	}
	n := store.NewNotice(uuid.NewString(), u.AccountID, u.ID, store.NoticeOf{Kind: kind, At: s.now().UTC(), IP: c.ClientIP(), By: by})
	return &n
}
