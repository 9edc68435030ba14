package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// Admin API: a user's single sign-on identity. A first sign-on binds the
// provider identity on its own only when the provider vouches for an email
// that is the user's; any other identity (an address outside an Entra
// tenant's verified domains, a guest, a new account at the provider) is
// bound by an administrator here: in advance, or from the issuer and
// subject of the sso.refused audit event a refused sign-on left.

// Limits of an approved identity.
const (
	maxSSOIssuerLength  = 512
	maxSSOSubjectLength = 255
)

// ssoStore is the persistence these handlers need besides loading the
// user.
type ssoStore interface {
	SetSSOIdentity(ctx context.Context, userID, issuer, subject string, at time.Time, events ...store.AuditEvent) error
	ClearSSOIdentity(ctx context.Context, userID string, at time.Time, events ...store.AuditEvent) (bool, error)
}

type ssoIdentityRequest struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
}

type ssoIdentityJSON struct {
	Bound   bool   `json:"bound"`
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
}

func ssoIdentityOf(u store.User) ssoIdentityJSON {
	return ssoIdentityJSON{Bound: u.SSOSubject != "", Issuer: u.SSOIssuer, Subject: u.SSOSubject}
}

// getSSOIdentity shows the identity bound to the user, if any.
func (s *Server) getSSOIdentity(c *gin.Context) {
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, ssoIdentityOf(u))
}

// putSSOIdentity binds (approves) a provider identity for the user,
// replacing the one bound before. The identity is compared exactly with
// the verified ID token's issuer and subject at sign-on.
func (s *Server) putSSOIdentity(c *gin.Context) {
	var req ssoIdentityRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if msg := checkSSOIdentity(req); msg != "" {
		fail(c, http.StatusBadRequest, msg)
		return
	}
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	detail := map[string]any{"issuer": req.Issuer, "subject": req.Subject}
	if u.SSOSubject != "" {
		detail["replaced_issuer"], detail["replaced_subject"] = u.SSOIssuer, u.SSOSubject
	}
	ev := s.auditEvent(c, attempt.EventSSOApproved, "", u.AuthID, detail)
	err := s.store.SetSSOIdentity(c.Request.Context(), u.ID, req.Issuer, req.Subject, s.now().UTC(), ev)
	switch {
	case errors.Is(err, store.ErrConflict):
		fail(c, http.StatusConflict, "this identity is bound to another user; unbind it there first")
		return
	case errors.Is(err, store.ErrNotFound):
		failf(c, http.StatusNotFound, "user %q not found", u.AuthID)
		return
	case err != nil:
		s.internalError(c, "bind sso identity", err)
		return
	}
	u.SSOIssuer, u.SSOSubject = req.Issuer, req.Subject
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, ssoIdentityOf(u))
}

// deleteSSOIdentity unbinds the user's identity: their next single sign-on
// is a first one again. Unbinding a user with none is not an error.
func (s *Server) deleteSSOIdentity(c *gin.Context) {
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	ev := s.auditEvent(c, attempt.EventSSOUnbound, "", u.AuthID, map[string]any{"issuer": u.SSOIssuer, "subject": u.SSOSubject})
	if _, err := s.store.ClearSSOIdentity(c.Request.Context(), u.ID, s.now().UTC(), ev); err != nil {
		s.internalError(c, "unbind sso identity", err)
		return
	}
	c.Status(http.StatusNoContent)
}

// checkSSOIdentity explains what is wrong with req, or returns "".
func checkSSOIdentity(req ssoIdentityRequest) string {
	switch {
	case req.Issuer == "" || req.Subject == "":
		return "issuer and subject are required"
	case utf8.RuneCountInString(req.Issuer) > maxSSOIssuerLength || utf8.RuneCountInString(req.Subject) > maxSSOSubjectLength:
		return "issuer or subject is too long"
	case strings.ContainsFunc(req.Issuer+req.Subject, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return "issuer and subject must not hold spaces or control characters"
	}
	u, err := url.Parse(req.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "issuer must be the provider's issuer URL, as its ID tokens' iss claim (e.g. https://login.microsoftonline.com/<tenant ID>/v2.0)"
	}
	return ""
}
