package api

import (
	"crypto/subtle"
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

// eventSSOWrongBrowser is audited when a sign-on callback arrives in a
// browser without the request's SSOBrowserCookie.
const eventSSOWrongBrowser = "sso.wrong_browser"

// setSSOCookie sets the SSOBrowserCookie name to value for the callback's
// path, or removes it when value is "".
func (s *Server) setSSOCookie(c *gin.Context, name, value string) {
	cookie := &http.Cookie{
		Name: name, Value: value, Path: attempt.SSOCallbackPath,
		HttpOnly: true, Secure: s.secureCookie(c), SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		cookie.MaxAge = -1
	}
	http.SetCookie(c.Writer, cookie)
}

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
	u, err := url.Parse(sess.URL)
	state := ""
	if err == nil {
		state = u.Query().Get("state")
	}
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !wellFormedToken(state) {
		s.log.ErrorContext(ctx, "sign-on plugin returned an unusable authorization URL", "attempt", att.ID)
		s.renderPage(c, http.StatusServiceUnavailable, unavailablePage())
		return
	}
	// The callback is accepted only from this browser (SSOBrowserCookie).
	// Lax: the provider sends the browser back by a top-level GET from
	// its own site, which Lax cookies go with. No Max-Age: it ends with
	// the browser session, and the attempt's expiry bounds it anyway.
	name, value := attempt.SSOBrowserCookie(s.keys, state)
	s.setSSOCookie(c, name, value)
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
	// Only the browser that was sent to the provider may come back
	// (SSOBrowserCookie). The state stays unused: the right browser can
	// still finish.
	name, want := attempt.SSOBrowserCookie(s.keys, state)
	if got, err := c.Cookie(name); err != nil || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		ev := store.AuditEvent{
			AccountID: att.AccountID, Time: s.now().UTC(), Type: eventSSOWrongBrowser,
			System: att.System, AuthID: att.AuthID, IP: c.ClientIP(),
			Reasons: []string{"the sign-on came back to a browser that was not sent to the provider for this attempt: refused, the attempt goes on"},
			Detail:  map[string]any{"attempt": att.ID},
		}
		if err := s.store.AppendAudit(ctx, ev); err != nil {
			s.log.ErrorContext(ctx, "sign-on callback: audit", "error", err)
		}
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Sign-in was not completed",
			Message: "This sign-in was started in another browser. Open the link in your message in this browser to sign in here.",
		})
		return
	}
	s.setSSOCookie(c, name, "") // spent with the state
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
