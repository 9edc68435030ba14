package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/skip2/go-qrcode"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Admin API: TOTP enrolment. A new seed waits as "pending" until a code
// from the user's authenticator proves it was scanned; only then does it
// become active. An active seed is never replaced here: whoever could
// replace it would hold the user's second factor, so the administrator
// resets two-factor first (audited, fresh sign-in), then enrols.

// totpQRSize is the side of the enrolment QR code in pixels.
const totpQRSize = 256

type totpVerifyRequest struct {
	Code string `json:"code"`
}

// startTOTP draws a seed and keeps it sealed as the user's pending seed.
// The answer carries the seed in clear, once: it is what the user scans.
func (s *Server) startTOTP(c *gin.Context) {
	u, ok := s.loadUser(c)
	if !ok || !keepsActiveTOTP(c, u) {
		return
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      attempt.TOTPIssuer,
		AccountName: u.AuthID,
		Period:      attempt.TOTPPeriod,
		Digits:      attempt.TOTPDigits,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		s.internalError(c, "generate totp seed", err)
		return
	}
	sealed, err := s.keys.Seal([]byte(key.Secret()), u.ID)
	if err != nil {
		s.internalError(c, "seal totp seed", err)
		return
	}
	ev := s.auditEvent(c, "totp.enrolment_started", "", u.AuthID, nil)
	if err := s.store.SetTOTPPending(c.Request.Context(), u.ID, sealed, s.now().UTC(), ev); err != nil {
		s.internalError(c, "store pending totp seed", err)
		return
	}
	png, err := qrcode.Encode(key.URL(), qrcode.Medium, totpQRSize)
	if err != nil {
		s.internalError(c, "draw totp qr code", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"otpauth_uri": key.URL(), "secret": key.Secret(),
		// A data URL: the console's CSP allows data: images and nothing
		// from elsewhere, and the seed must not travel to a QR service.
		"qr_png": "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
	})
}

// verifyTOTP activates the pending seed once a code from it matches at the
// current time step or one step either side. The matching step is recorded
// as used, so the enrolment code cannot also sign in.
func (s *Server) verifyTOTP(c *gin.Context) {
	var req totpVerifyRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if len(req.Code) != int(attempt.TOTPDigits) || !allDigits(req.Code) {
		failf(c, http.StatusBadRequest, "code must be %d digits", int(attempt.TOTPDigits))
		return
	}
	u, ok := s.loadUser(c)
	if !ok || !keepsActiveTOTP(c, u) {
		return
	}
	if u.TOTPPending == nil {
		failf(c, http.StatusConflict, "no totp enrolment is pending for user %q; start one first", u.AuthID)
		return
	}
	seed, err := s.keys.Open(u.TOTPPending, u.ID)
	if err != nil {
		s.internalError(c, "open pending totp seed", err)
		return
	}
	now := s.now()
	step, matched, err := matchTOTP(string(seed), req.Code, now)
	if err != nil {
		s.internalError(c, "compute totp code", err)
		return
	}
	if !matched {
		fail(c, http.StatusBadRequest, "code does not match")
		return
	}
	// Sealed afresh: the pending and the active seed are separate values.
	sealed, err := s.keys.Seal(seed, u.ID)
	if err != nil {
		s.internalError(c, "seal totp seed", err)
		return
	}
	err = s.store.ActivateTOTPWith(c.Request.Context(), u.ID, sealed, step, now.UTC(), store.ChangeRecord{
		Events: []store.AuditEvent{s.auditEvent(c, attempt.EventTOTPEnrolled, "", u.AuthID, nil)},
		Notice: s.noticeFor(c, u, store.NoticeTOTPEnabled, store.NoticeByAdministrator),
	})
	if errors.Is(err, store.ErrNotFound) {
		failf(c, http.StatusNotFound, "user %q not found", u.AuthID)
		return
	}
	if err != nil {
		s.internalError(c, "activate totp", err)
		return
	}
	s.wakeLinkDispatcher()
	c.JSON(http.StatusOK, gin.H{"totp_enabled": true})
}

// keepsActiveTOTP refuses, with 409, to enrol a user whose TOTP is
// active, and reports whether enrolment may go ahead. Verifying is refused
// too: a seed left pending from before the user enrolled must not replace
// the active one either.
func keepsActiveTOTP(c *gin.Context, u store.User) bool {
	if u.TOTPEnabled {
		failf(c, http.StatusConflict, "user %q already has an active authenticator: reset two-factor first, then enrol", u.AuthID)
		return false
	}
	return true
}

// matchTOTP reports the time step whose code equals code, within
// attempt.TOTPSkew steps of now.
func matchTOTP(seed, code string, now time.Time) (int64, bool, error) {
	step := now.Unix() / attempt.TOTPPeriod
	for d := int64(-attempt.TOTPSkew); d <= attempt.TOTPSkew; d++ {
		want, err := attempt.TOTPCode(seed, time.Unix((step+d)*attempt.TOTPPeriod, 0))
		if err != nil {
			return 0, false, err
		}
		if secret.Equal(want, code) {
			return step + d, true, nil
		}
	}
	return 0, false, nil
}
