package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// Email as a way back in, once. At the TOTP step of a password attempt
// (the password is right), a user whose address is verified may ask for a
// recover link instead of a code: "Lost your authenticator? Email me a
// link". The link (attempt.RecoverPath + token, 15 minutes) is served
// under the attempt pages' path, so the browser sends the cookie that
// binds the attempt: opened in the browser that gave the password, its
// page asks for a confirmation, whose POST has the attempt's workflow
// reset the user's second factor and move the attempt to enrolment
// (update recover-by-email). The enrolment then continues at the link's
// URL, which stands in for the attempt's page in that browser only.

// stepEmailLink is the form of the TOTP step that asks for a recover link;
// stepRecover the recover page's confirmation.
const (
	stepEmailLink = "email-link"
	stepRecover   = "recover"
)

// Audit event of a recover link asked for.
const eventRecoverRequested = "recover.requested"

// recoverLinksPerHour bounds the recover links one user may ask for.
const recoverLinksPerHour = 3

// systemTitle is how the pages name a system.
func systemTitle(name string) string {
	if name == attempt.SecuritySystem {
		return "your security settings"
	}
	return name
}

// offersEmailRecovery reports whether the attempt's TOTP step offers a
// recover link: the user's address is verified and the account sends
// email.
func (s *Server) offersEmailRecovery(ctx context.Context, att store.Attempt) (bool, error) {
	user, err := s.store.GetUser(ctx, att.AccountID, att.AuthID)
	if err != nil {
		return false, err
	}
	if user.EmailVerifiedAt == nil || user.Email == "" {
		return false, nil
	}
	acc, err := s.store.GetAccount(ctx, att.AccountID)
	if err != nil {
		return false, err
	}
	return acc.EmailDelivery, nil
}

// requestRecoverLink sends a recover link for the attempt, from its TOTP
// step in the bound browser.
func (s *Server) requestRecoverLink(c *gin.Context, att store.Attempt) {
	ctx := c.Request.Context()
	user, err := s.store.GetUser(ctx, att.AccountID, att.AuthID)
	if err != nil {
		s.pageUnavailable(c, "load user for a recover link", err)
		return
	}
	now := s.now().UTC()
	link := store.CredentialLink{
		ID: uuid.NewString(), AccountID: att.AccountID, UserID: user.ID, Purpose: store.LinkRecover, AttemptID: att.ID, CreatedAt: now,
	}
	ev := store.AuditEvent{
		AccountID: att.AccountID, Time: now, Type: eventRecoverRequested, System: att.System, AuthID: att.AuthID,
		AttemptID: att.ID, IP: c.ClientIP(), Reasons: []string{"the user lost the authenticator and asked for a link to the verified address"},
		Detail: map[string]any{"actor": "user:" + att.AuthID, "link": link.ID},
	}
	err = s.store.RequestSelfServiceLink(ctx, store.SelfServiceLink{Link: link, Since: now.Add(-time.Hour), Max: recoverLinksPerHour}, ev)
	switch {
	case errors.Is(err, store.ErrTooManyLinks):
		s.renderStep(c, http.StatusTooManyRequests, att, "Several links were sent in the last hour. Use the latest one, or try again later.")
	case errors.Is(err, store.ErrEmailNotVerified), errors.Is(err, store.ErrPasswordLoginOff):
		s.renderStep(c, http.StatusConflict, att, "Your email address cannot be used to sign in this time. Use a recovery code, or ask your organisation's administrator.")
	case errors.Is(err, store.ErrAttemptMovedOn):
		s.renderStep(c, http.StatusConflict, att, "This sign-in has moved on; continue below.")
	case err != nil:
		s.pageUnavailable(c, "request a recover link", err)
	default:
		s.wakeLinkDispatcher()
		s.renderSignin(c, http.StatusOK, signinPage{
			Title:   "Check your email",
			Message: "We sent a link to " + user.Email + ". Open it in this browser within 15 minutes: it removes your authenticator app and recovery codes and lets you set up a new app, then signs you in. You can also still type a code below.",
			Step:    store.StepTOTP,
		})
	}
}

// recoverLink finds the recover link of the request's token, whatever its
// state, and its attempt.
func (s *Server) recoverLink(c *gin.Context) (store.CredentialLink, store.Attempt, bool, error) {
	token := c.Param("token")
	if !wellFormedToken(token) {
		return store.CredentialLink{}, store.Attempt{}, false, nil
	}
	ctx := c.Request.Context()
	l, err := s.store.CredentialLinkByDigest(ctx, store.LinkRecover, attempt.CredentialLinkDigest(s.keys, token))
	if errors.Is(err, store.ErrNotFound) {
		return store.CredentialLink{}, store.Attempt{}, false, nil
	}
	if err != nil {
		return store.CredentialLink{}, store.Attempt{}, false, err
	}
	att, err := s.store.GetAttempt(ctx, l.AttemptID)
	if errors.Is(err, store.ErrNotFound) {
		return store.CredentialLink{}, store.Attempt{}, false, nil
	}
	if err != nil {
		return store.CredentialLink{}, store.Attempt{}, false, err
	}
	return l, att, true, nil
}

// otherBrowserPage answers a recover link opened elsewhere than in the
// browser that gave the password.
func otherBrowserPage() signinPage {
	return signinPage{
		Title:   "Open this link in the browser where you typed your password",
		Message: "This link works only in the browser where you signed in and asked for it. Copy it there, or sign in again in this browser and ask for a new link.",
	}
}

// showRecover asks the bound browser to confirm the recovery; once done,
// the link's URL shows the attempt's step (enrolment) or its end.
func (s *Server) showRecover(c *gin.Context) {
	l, att, found, err := s.recoverLink(c)
	switch {
	case err != nil:
		s.pageUnavailable(c, "look up recover link", err)
	case !found:
		s.renderSignin(c, http.StatusGone, goneSignin())
	case !s.boundBrowser(c, att):
		s.renderSignin(c, http.StatusForbidden, otherBrowserPage())
	case att.State == store.AttemptAuthenticated && l.UsedAt != nil:
		s.signedInSignin(c, att)
	case !s.live(att):
		s.renderSignin(c, http.StatusGone, goneSignin())
	case l.Live(s.now()) && att.Step == store.StepTOTP:
		s.renderSignin(c, http.StatusOK, signinPage{
			Title: "Set up a new authenticator app",
			Message: "This removes your authenticator app and recovery codes, then shows a new QR code to scan: you are signed in to " +
				systemTitle(att.System) + " once a code from the new app confirms it. Your email address will need verifying again before it can be used this way.",
			Step: stepRecover,
		})
	case l.UsedAt != nil:
		s.renderStep(c, http.StatusOK, att, "")
	default:
		s.renderSignin(c, http.StatusGone, goneSignin())
	}
}

// submitRecover takes the recovery's confirmation, then the attempt's
// later steps posted at the link's URL.
func (s *Server) submitRecover(c *gin.Context) {
	if !s.sameOrigin(c.Request) {
		s.renderSignin(c, http.StatusForbidden, signinPage{
			Title:   "Confirm on the page from your message",
			Message: "This form did not come from flexauth's own page. Open the link in your message again.",
		})
		return
	}
	l, att, found, err := s.recoverLink(c)
	switch {
	case err != nil:
		s.pageUnavailable(c, "look up recover link", err)
		return
	case !found || !s.live(att):
		s.renderSignin(c, http.StatusGone, goneSignin())
		return
	case !s.boundBrowser(c, att):
		s.renderSignin(c, http.StatusForbidden, otherBrowserPage())
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		s.renderStep(c, http.StatusBadRequest, att, "The form could not be read. Try again.")
		return
	}
	step := c.Request.PostForm.Get("step")
	switch {
	case step == stepRecover && l.Live(s.now()):
		browser, _ := s.browserDigestOf(c, att)
		v, err := s.submitWith(c.Request.Context(), att, workflows.UpdateRecoverByEmail,
			workflows.Submission{AttemptID: att.ID, Browser: browser, Digest: l.Digest})
		s.afterRecovery(c, att, v, err)
	case step == stepRecover:
		s.renderStep(c, http.StatusGone, att, "This link was used already.")
	case step == store.StepPassword || step == stepEmailLink:
		// The password step is behind, and one link is enough.
		s.renderSignin(c, http.StatusGone, goneSignin())
	default:
		s.submitStep(c, att, step)
	}
}

// afterRecovery answers the recovery's verdict: enrolment, or a page that
// says why not.
func (s *Server) afterRecovery(c *gin.Context, att store.Attempt, v workflows.Verdict, err error) {
	if err != nil && !errors.Is(err, errAttemptClosed) {
		s.pageUnavailable(c, "recover by email", err)
		return
	}
	if err == nil && v.Verdict == workflows.VerdictAccepted {
		s.wakeLinkDispatcher()
		fresh, gerr := s.store.GetAttempt(c.Request.Context(), att.ID)
		if gerr != nil {
			s.pageUnavailable(c, "reload attempt", gerr)
			return
		}
		s.renderStep(c, http.StatusOK, fresh, "")
		return
	}
	s.afterSubmission(c, att, v, err, "This link cannot be used any more. Type a code from your authenticator app or a recovery code, or start signing in again.")
}
