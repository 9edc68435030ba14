package api

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// The email verification page: the link "Verify my email" sends
// (attempt.VerifyPath + token) opens a page that says which address it
// proves; GET changes nothing (mail scanners fetch links), the POST from
// the page itself marks the address verified and uses the link up.
// Unknown, used, voided and expired links all get the same page.

// verifyFor is a live verification link with its user.
type verifyFor struct {
	link   store.CredentialLink
	digest string
	user   store.User
}

// verifyLink finds the live verification link of the request's token.
func (s *Server) verifyLink(c *gin.Context) (verifyFor, bool, error) {
	token := c.Param("token")
	if !wellFormedToken(token) {
		return verifyFor{}, false, nil
	}
	ctx := c.Request.Context()
	v := verifyFor{digest: attempt.CredentialLinkDigest(s.keys, token)}
	var err error
	v.link, err = s.store.CredentialLinkByDigest(ctx, store.LinkVerifyEmail, v.digest)
	if errors.Is(err, store.ErrNotFound) {
		return verifyFor{}, false, nil
	}
	if err != nil {
		return verifyFor{}, false, err
	}
	if !v.link.Live(s.now()) {
		return verifyFor{}, false, nil
	}
	v.user, err = s.store.UserByID(ctx, v.link.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.user.Email == "") {
		return verifyFor{}, false, nil
	}
	return v, err == nil, err
}

func goneVerification() page {
	return page{
		Title:   "This link has expired or was already used",
		Message: "Open your security settings to send a new one.",
	}
}

// showVerification asks to confirm the address. It changes nothing.
func (s *Server) showVerification(c *gin.Context) {
	v, found, err := s.verifyLink(c)
	switch {
	case err != nil:
		s.log.ErrorContext(c.Request.Context(), "look up verification link", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
	case !found:
		s.renderPage(c, http.StatusGone, goneVerification())
	default:
		s.renderPage(c, http.StatusOK, page{
			Title:   "Verify your email address",
			Message: "Confirm that " + v.user.Email + " is your email address.",
			Note:    "A verified address can let you back in once if you lose your authenticator app.",
			Form:    true, Button: "Verify my email",
		})
	}
}

// confirmVerification marks the address verified and uses the link up.
func (s *Server) confirmVerification(c *gin.Context) {
	if !s.sameOrigin(c.Request) {
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Use the page from your message",
			Message: "This confirmation did not come from flexauth's own page. Open the link in your message again and confirm there.",
		})
		return
	}
	ctx := c.Request.Context()
	v, found, err := s.verifyLink(c)
	if err != nil {
		s.log.ErrorContext(ctx, "look up verification link", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		return
	}
	if !found {
		s.renderPage(c, http.StatusGone, goneVerification())
		return
	}
	now := s.now().UTC()
	ev := store.AuditEvent{
		AccountID: v.link.AccountID, Time: now, Type: eventEmailVerified, AuthID: v.user.AuthID, IP: c.ClientIP(),
		Reasons: []string{"proved with a link sent to the address"},
		Detail:  map[string]any{"actor": "user:" + v.user.AuthID, "link": v.link.ID, "email": v.user.Email},
	}
	err = s.store.VerifyEmail(ctx, store.EmailVerification{LinkID: v.link.ID, Digest: v.digest, UserID: v.user.ID, At: now}, ev)
	switch {
	case errors.Is(err, store.ErrLinkGone):
		s.renderPage(c, http.StatusGone, goneVerification())
	case err != nil:
		s.log.ErrorContext(ctx, "verify email", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
	default:
		s.renderPage(c, http.StatusOK, page{
			Title:   "Your email address is verified",
			Message: v.user.Email + " is verified. You can close this page.",
			Next:    template.URL(securityBase(v.link.AccountID)), NextText: "Go to your security settings",
		})
	}
}
