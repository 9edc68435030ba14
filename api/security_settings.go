package api

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/skip2/go-qrcode"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// The changes a user makes in the security settings (security.go). Each
// is a form under /security/{account}, admitted by securityForm, stored
// in one transaction with its audit event (actor user:<authid>) and a
// notice to the user, and answered with the settings page.

// Audit events of the security settings.
const (
	eventEnrolmentStarted = "totp.enrolment_started"
	eventPasswordChanged  = "password.changed"
	eventPasswordRefused  = "password.change_refused"
	eventVerifyRequested  = "verify_email.requested"
	eventEmailVerified    = "email.verified"
)

// verifyLinksPerHour bounds the verification links one user may ask for.
const verifyLinksPerHour = 3

// startSecurityEnrolment draws a new seed to enrol, replacing any pending
// one, and shows it. An active authenticator is never replaced: reset
// two-factor first.
func (s *Server) startSecurityEnrolment(c *gin.Context) {
	ss, ok := s.securityForm(c, true)
	if !ok {
		return
	}
	if ss.user.TOTPEnabled {
		s.renderSettings(c, http.StatusConflict, ss, securityPage{Error: "You already have an authenticator app. To use another one, reset two-step verification first."})
		return
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: attempt.TOTPIssuer, AccountName: ss.user.AuthID,
		Period: attempt.TOTPPeriod, Digits: attempt.TOTPDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		s.securityUnavailable(c, "generate totp seed", err)
		return
	}
	sealed, err := s.keys.Seal([]byte(key.Secret()), ss.user.ID)
	if err != nil {
		s.securityUnavailable(c, "seal totp seed", err)
		return
	}
	ev := s.userEvent(c, ss, eventEnrolmentStarted, "started in the security settings")
	if err := s.store.SetTOTPPending(c.Request.Context(), ss.user.ID, sealed, s.now().UTC(), ev); err != nil {
		s.securityUnavailable(c, "store pending totp seed", err)
		return
	}
	ss.user.TOTPPending = sealed
	s.renderEnrolment(c, http.StatusOK, ss, "")
}

// renderEnrolment shows the user's pending seed as a QR code and as text,
// with the settings.
func (s *Server) renderEnrolment(c *gin.Context, status int, ss securitySession, refusal string) {
	seed, err := s.keys.Open(ss.user.TOTPPending, ss.user.ID)
	if err != nil {
		s.securityUnavailable(c, "open pending totp seed", err)
		return
	}
	png, err := qrcode.Encode(otpauthURI(string(seed), ss.user), qrcode.Medium, totpQRSize)
	if err != nil {
		s.securityUnavailable(c, "draw totp qr code", err)
		return
	}
	s.renderSettings(c, status, ss, securityPage{
		Error: refusal,
		QR:    template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Key:   groupKey(string(seed)),
	})
}

// confirmSecurityEnrolment enrols the pending seed when the code matches
// it, with a first set of recovery codes, shown once.
func (s *Server) confirmSecurityEnrolment(c *gin.Context) {
	ss, ok := s.securityForm(c, true)
	if !ok {
		return
	}
	if ss.user.TOTPEnabled || ss.user.TOTPPending == nil {
		s.renderSettings(c, http.StatusConflict, ss, securityPage{Error: "There is no authenticator app to confirm: start again from \"Set up an authenticator app\"."})
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(c.Request.PostForm.Get("code")), " ", "")
	if len(code) != int(attempt.TOTPDigits) || !allDigits(code) {
		s.renderEnrolment(c, http.StatusUnprocessableEntity, ss, "Type the 6-digit code your authenticator app shows.")
		return
	}
	seed, err := s.keys.Open(ss.user.TOTPPending, ss.user.ID)
	if err != nil {
		s.securityUnavailable(c, "open pending totp seed", err)
		return
	}
	now := s.now().UTC()
	step, matched, err := matchTOTP(string(seed), code, now)
	if err != nil {
		s.securityUnavailable(c, "compute totp code", err)
		return
	}
	if !matched {
		s.renderEnrolment(c, http.StatusUnprocessableEntity, ss, "That code does not match. Check that the app shows flexauth's newest code, and type it before it changes.")
		return
	}
	sealed, err := s.keys.Seal(seed, ss.user.ID)
	if err != nil {
		s.securityUnavailable(c, "seal totp seed", err)
		return
	}
	shown, rows, err := s.drawRecoveryCodes(ss.user.ID, now)
	if err != nil {
		s.securityUnavailable(c, "draw recovery codes", err)
		return
	}
	codes := s.userEvent(c, ss, attempt.EventRecoveryCodes, "drawn at enrolment in the security settings, shown once")
	codes.Detail["count"] = recoveryCodeCount
	err = s.store.EnrolTOTP(c.Request.Context(), store.TOTPEnrolment{
		UserID: ss.user.ID, Pending: ss.user.TOTPPending, Sealed: sealed, Step: step, Codes: rows, At: now,
		Record: store.ChangeRecord{
			Events: []store.AuditEvent{s.userEvent(c, ss, attempt.EventTOTPEnrolled, "enrolled in the security settings"), codes},
			Notice: s.noticeFor(c, ss.user, store.NoticeTOTPEnabled, store.NoticeBySelf),
		},
	})
	if errors.Is(err, store.ErrConflict) {
		s.renderSettings(c, http.StatusConflict, ss, securityPage{Error: "Your authenticator app changed meanwhile (another page or an administrator): nothing was changed here."})
		return
	}
	if err != nil {
		s.securityUnavailable(c, "enrol totp", err)
		return
	}
	s.wakeLinkDispatcher()
	ss.user.TOTPEnabled, ss.user.TOTPPending, ss.user.TOTPEnabledAt, ss.user.TOTPLastStep = true, nil, &now, step
	s.renderSettings(c, http.StatusOK, ss, securityPage{Message: "Your authenticator app is set up. From now on, signing in asks for your password and a code from the app.", Codes: shown})
}

// drawRecoveryCodes draws a set of recovery codes: in clear to show once,
// and as the rows to store (digests only).
func (s *Server) drawRecoveryCodes(userID string, now time.Time) ([]string, []store.RecoveryCode, error) {
	shown, digests, err := attempt.DrawRecoveryCodes(s.keys)
	if err != nil {
		return nil, nil, err
	}
	return shown, store.NewRecoveryCodes(userID, digests, now), nil
}

// regenerateRecoveryCodes replaces the user's recovery codes with a new
// set, shown once: the old set dies.
func (s *Server) regenerateRecoveryCodes(c *gin.Context) {
	ss, ok := s.securityForm(c, true)
	if !ok {
		return
	}
	if !ss.user.TOTPEnabled {
		s.renderSettings(c, http.StatusConflict, ss, securityPage{Error: "Recovery codes come with an authenticator app: set one up first."})
		return
	}
	now := s.now().UTC()
	shown, rows, err := s.drawRecoveryCodes(ss.user.ID, now)
	if err != nil {
		s.securityUnavailable(c, "draw recovery codes", err)
		return
	}
	ev := s.userEvent(c, ss, attempt.EventRecoveryCodes, "made anew in the security settings; the old set no longer works")
	ev.Detail["count"] = recoveryCodeCount
	err = s.store.ReplaceRecoveryCodesWith(c.Request.Context(), ss.user.ID, rows, store.ChangeRecord{
		Events: []store.AuditEvent{ev}, Notice: s.noticeFor(c, ss.user, store.NoticeRecoveryCodes, store.NoticeBySelf),
	})
	if err != nil {
		s.securityUnavailable(c, "store recovery codes", err)
		return
	}
	s.wakeLinkDispatcher()
	s.renderSettings(c, http.StatusOK, ss, securityPage{Message: "You have new recovery codes.", Codes: shown})
}

// resetOwnTwoFactor removes the user's authenticator and recovery codes:
// the next sign-in enrols a new one.
func (s *Server) resetOwnTwoFactor(c *gin.Context) {
	ss, ok := s.securityForm(c, true)
	if !ok {
		return
	}
	if c.Request.PostForm.Get("confirm") != "yes" {
		s.renderSettings(c, http.StatusUnprocessableEntity, ss, securityPage{Error: "Tick the box to confirm that your authenticator app and recovery codes will stop working."})
		return
	}
	now := s.now().UTC()
	err := s.store.ResetTwoFactorWith(c.Request.Context(), ss.user.ID, now, store.ChangeRecord{
		Events: []store.AuditEvent{s.userEvent(c, ss, attempt.EventTwoFactorReset, "reset by the user in the security settings")},
		Notice: s.noticeFor(c, ss.user, store.NoticeTwoFactorReset, store.NoticeBySelf),
	})
	if err != nil {
		s.securityUnavailable(c, "reset two-factor", err)
		return
	}
	s.wakeLinkDispatcher()
	ss.user.TOTPEnabled, ss.user.TOTPEnabledAt, ss.user.TOTPPending, ss.user.TwoFactorResetAt = false, nil, nil, &now
	s.renderSettings(c, http.StatusOK, ss, securityPage{Message: "Two-step verification is reset: your authenticator app and recovery codes no longer work. Set up a new app now, or at your next sign-in."})
}

// requestEmailVerification sends a link that proves the user's address.
// Not sensitive: it changes nothing until the link is used, and the link
// goes to the address it proves.
func (s *Server) requestEmailVerification(c *gin.Context) {
	ss, ok := s.securityForm(c, false)
	if !ok {
		return
	}
	if !ss.account.EmailDelivery {
		s.renderSettings(c, http.StatusConflict, ss, securityPage{Error: "Your organisation does not send email, so your address cannot be verified."})
		return
	}
	now := s.now().UTC()
	link := store.CredentialLink{ID: uuid.NewString(), AccountID: ss.account.ID, UserID: ss.user.ID, Purpose: store.LinkVerifyEmail, CreatedAt: now}
	ev := s.userEvent(c, ss, eventVerifyRequested, "asked for in the security settings")
	ev.Detail["link"] = link.ID
	err := s.store.RequestSelfServiceLink(c.Request.Context(), store.SelfServiceLink{Link: link, Since: now.Add(-time.Hour), Max: verifyLinksPerHour}, ev)
	switch {
	case errors.Is(err, store.ErrTooManyLinks):
		s.renderSettings(c, http.StatusTooManyRequests, ss, securityPage{Error: "Several links were sent in the last hour. Use the latest one, or try again later."})
	case errors.Is(err, store.ErrPasswordLoginOff):
		s.renderSettings(c, http.StatusConflict, ss, securityPage{Error: "Your address cannot be verified right now. Ask your organisation's administrator."})
	case err != nil:
		s.securityUnavailable(c, "request email verification", err)
	default:
		s.wakeLinkDispatcher()
		s.renderSettings(c, http.StatusOK, ss, securityPage{Message: "We sent a link to " + ss.user.Email + ". Open it within 24 hours to verify your address."})
	}
}

// changeOwnPassword replaces the password after checking the current one.
// A few wrong current passwords end the session.
func (s *Server) changeOwnPassword(c *gin.Context) {
	ss, ok := s.securityForm(c, true)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	// Used as typed: never trimmed, cut or logged.
	current, plain, again := c.Request.PostForm.Get("current"), c.Request.PostForm.Get("new"), c.Request.PostForm.Get("confirm")
	refuse := func(status int, msg string, reasons ...string) {
		s.renderSettings(c, status, ss, securityPage{Error: msg, Refusals: reasons})
	}
	right := false
	if current != "" && len(current) <= maxPasswordBytes {
		ok, _, err := s.passwords.Verify(current, ss.user.PasswordHash)
		if err != nil {
			s.securityUnavailable(c, "verify current password", err)
			return
		}
		right = ok
	}
	if !right {
		n, err := s.store.CountSessionPasswordFailure(ctx, ss.sess.ID)
		if err != nil {
			s.securityUnavailable(c, "count a wrong password", err)
			return
		}
		ev := s.userEvent(c, ss, eventPasswordRefused, "the current password was not right")
		ev.Detail["failures"] = n
		if n < maxSessionPasswordFailures {
			if err := s.store.AppendAudit(ctx, ev); err != nil {
				s.log.ErrorContext(ctx, "audit a refused password change", "error", err)
			}
			refuse(http.StatusUnprocessableEntity, "That is not your current password. Your password was not changed.")
			return
		}
		ev.Reasons = append(ev.Reasons, "too many wrong passwords: the session ended")
		if err := s.store.EndUserSession(ctx, ss.sess.ID, s.now().UTC(), ev); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.securityUnavailable(c, "end user session", err)
			return
		}
		s.clearSecurityCookie(c)
		p := s.signInPage(ss.account.ID, ss.user.Email, "")
		p.Message = "That was not your current password, several times: you are signed out. Sign in again to change your password."
		s.renderSecurity(c, http.StatusUnauthorized, p)
		return
	}
	switch {
	case plain == "":
		refuse(http.StatusUnprocessableEntity, "Type a new password. Your password was not changed.")
		return
	case plain != again:
		refuse(http.StatusUnprocessableEntity, "The two new passwords are not the same. Your password was not changed.")
		return
	}
	who := PasswordContext{Email: ss.user.Email, Name: ss.user.Name, Account: organisation(ss.account)}
	if err := s.passwords.Check(plain, who); err != nil {
		refuse(http.StatusUnprocessableEntity, "Your password was not changed.", err.Error())
		return
	}
	hash, err := s.passwords.Hash(plain)
	if err != nil {
		s.securityUnavailable(c, "hash password", err)
		return
	}
	now := s.now().UTC()
	err = s.store.ChangePassword(ctx, store.PasswordChange{
		UserID: ss.user.ID, OldHash: ss.user.PasswordHash, Hash: hash, At: now, Session: ss.sess.ID,
		Record: store.ChangeRecord{
			Events: []store.AuditEvent{s.userEvent(c, ss, eventPasswordChanged, "changed by the user with the current password")},
			Notice: s.noticeFor(c, ss.user, store.NoticePasswordChanged, store.NoticeBySelf),
		},
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		refuse(http.StatusConflict, "Your password changed meanwhile (another page, or a reset link). Nothing was changed here: reload this page.")
		return
	case errors.Is(err, store.ErrPasswordLoginOff):
		s.clearSecurityCookie(c)
		s.renderSecurity(c, http.StatusForbidden, securityPage{Title: "Email and password sign-in is off", Message: "Your organisation turned off sign-in with email and password. Nothing was changed."})
		return
	case err != nil:
		s.securityUnavailable(c, "change password", err)
		return
	}
	s.wakeLinkDispatcher()
	ss.user.PasswordHash, ss.user.PasswordChangedAt = hash, &now
	s.renderSettings(c, http.StatusOK, ss, securityPage{Message: "Your password is changed."})
}
