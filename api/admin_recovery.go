package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// Admin API: a user's second factor beyond enrolment — resetting it when
// the authenticator is lost, and recovery codes that stand in for a TOTP
// code once each. Both are sensitive changes (fresh sign-in).

// recoveryCodeCount is how many codes a set holds.
const recoveryCodeCount = attempt.RecoveryCodeCount

// resetTwoFactor removes the user's TOTP seed (active and pending) and
// recovery codes: they enrol again.
func (s *Server) resetTwoFactor(c *gin.Context) {
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	err := s.store.ResetTwoFactorWith(c.Request.Context(), u.ID, s.now().UTC(), store.ChangeRecord{
		Events: []store.AuditEvent{s.auditEvent(c, attempt.EventTwoFactorReset, "", u.AuthID, nil)},
		Notice: s.noticeFor(c, u, store.NoticeTwoFactorReset, store.NoticeByAdministrator),
	})
	if errors.Is(err, store.ErrNotFound) {
		failf(c, http.StatusNotFound, "user %q not found", u.AuthID)
		return
	}
	if err != nil {
		s.internalError(c, "reset two-factor", err)
		return
	}
	s.wakeLinkDispatcher()
	c.Status(http.StatusNoContent)
}

// createRecoveryCodes draws a new set of codes, voiding the old one. The
// codes are in this answer and nowhere else in clear: each is stored as a
// keyed digest.
func (s *Server) createRecoveryCodes(c *gin.Context) {
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	now := s.now().UTC()
	shown, rows, err := s.drawRecoveryCodes(u.ID, now)
	if err != nil {
		s.internalError(c, "draw recovery codes", err)
		return
	}
	ev := s.auditEvent(c, attempt.EventRecoveryCodes, "", u.AuthID, map[string]any{"count": recoveryCodeCount})
	err = s.store.ReplaceRecoveryCodesWith(c.Request.Context(), u.ID, rows, store.ChangeRecord{
		Events: []store.AuditEvent{ev}, Notice: s.noticeFor(c, u, store.NoticeRecoveryCodes, store.NoticeByAdministrator),
	})
	if err != nil {
		s.internalError(c, "store recovery codes", err)
		return
	}
	s.wakeLinkDispatcher()
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"codes": shown})
}
