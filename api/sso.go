package api

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// Single sign-on pages. The link of an sso attempt leads, after its POST,
// to the identity provider; the provider sends the browser back to
// attempt.SSOCallbackPath with a code and the state, which is used once.

// startSSO has the workflow draw a sign-on request for a confirmed link
// and sends the browser to the provider.
func (s *Server) startSSO(c *gin.Context, att store.Attempt, digest string) {
	ctx := c.Request.Context()
	v, err := s.submit(ctx, att, workflows.UpdateAuthorizeSSO, digest)
	switch {
	case errors.Is(err, errAttemptClosed):
		s.renderPage(c, http.StatusGone, goneLink())
		return
	case err != nil:
		s.log.ErrorContext(ctx, "request sign-on", "error", err)
		s.renderPage(c, http.StatusServiceUnavailable, unavailablePage())
		return
	case v.Verdict != workflows.VerdictAccepted:
		s.renderPage(c, http.StatusGone, goneLink())
		return
	}
	fresh, err := s.store.GetAttempt(ctx, att.ID)
	if err != nil || fresh.SSOSealed == nil {
		s.log.ErrorContext(ctx, "load sign-on request", "error", err, "attempt", att.ID)
		s.renderPage(c, http.StatusServiceUnavailable, unavailablePage())
		return
	}
	sess, err := attempt.OpenSSO(s.keys, att.ID, fresh.SSOSealed)
	if err != nil {
		s.log.ErrorContext(ctx, "open sign-on request", "error", err)
		s.renderPage(c, http.StatusServiceUnavailable, unavailablePage())
		return
	}
	if u, err := url.Parse(sess.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		s.log.ErrorContext(ctx, "sign-on plugin returned an unusable authorization URL", "attempt", att.ID)
		s.renderPage(c, http.StatusServiceUnavailable, unavailablePage())
		return
	}
	s.renderPage(c, http.StatusOK, page{
		Title:    "Continue to your organisation's sign-in",
		Message:  "If nothing happens, use the link below.",
		Continue: template.URL(sess.URL),
	})
}

// ssoCallback receives the provider's answer. The state finds the attempt
// and is consumed at once: a replayed callback finds nothing.
func (s *Server) ssoCallback(c *gin.Context) {
	ctx := c.Request.Context()
	state := c.Query("state")
	if !wellFormedToken(state) {
		s.renderPage(c, http.StatusBadRequest, badCallback())
		return
	}
	digest := attempt.SSOStateDigest(s.keys, state)
	att, err := s.store.AttemptBySSOState(ctx, digest)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.renderPage(c, http.StatusGone, goneSignOn())
		return
	case err != nil:
		s.log.ErrorContext(ctx, "look up sign-on state", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		return
	case !s.live(att) || att.SSOSealed == nil:
		s.renderPage(c, http.StatusGone, goneSignOn())
		return
	}
	sess, err := attempt.OpenSSO(s.keys, att.ID, att.SSOSealed)
	if err != nil {
		s.log.ErrorContext(ctx, "open sign-on request", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		return
	}
	// The provider's error (the user cancelled, consent refused) uses the
	// state up as well; the link can start a new request.
	sess.Code = c.Query("code")
	if c.Query("error") != "" {
		sess.Code = ""
	}
	sealed, err := attempt.SealSSO(s.keys, att.ID, sess)
	if err != nil {
		s.log.ErrorContext(ctx, "seal sign-on code", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		return
	}
	consumed, err := s.store.ConsumeSSOState(ctx, att.ID, digest, sealed)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "consume sign-on state", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		return
	case !consumed:
		s.renderPage(c, http.StatusGone, goneSignOn())
		return
	case sess.Code == "":
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Sign-in was not completed",
			Message: "Your organisation's sign-in page did not sign you in. Open the link in your message again to retry.",
		})
		return
	}
	v, err := s.submit(ctx, att, workflows.UpdateConfirmSSO, digest)
	switch {
	case errors.Is(err, errAttemptClosed):
		s.renderPage(c, http.StatusGone, goneSignOn())
	case err != nil:
		s.log.ErrorContext(ctx, "confirm sign-on", "error", err)
		s.renderPage(c, http.StatusServiceUnavailable, unavailablePage())
	case v.Verdict == workflows.VerdictAccepted:
		s.signedInPage(c, att)
	case v.Verdict == workflows.VerdictRejected:
		// Why stays in the audit trail; the page does not help an attacker.
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Sign-in refused",
			Message: "The account you signed in with cannot sign in here. Open the link in your message again to retry with another account.",
		})
	case v.State == workflows.StateDenied:
		// A genuine identity this user cannot use ended the attempt
		// (uncounted); an administrator can approve it.
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Sign-in refused",
			Message: "The account you signed in with is not approved for you here. Ask your administrator to approve it, or start again from the application with another account.",
		})
	default:
		s.renderPage(c, http.StatusGone, goneSignOn())
	}
}

func goneSignOn() page {
	return page{
		Title:   "This sign-in has expired or was already completed",
		Message: "Start signing in again from the application.",
	}
}

func badCallback() page {
	return page{Title: "This is not a valid sign-in response", Message: "Start signing in again from the application."}
}
