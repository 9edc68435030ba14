package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// The app API: POST /v1/start and POST /v1/check, wire-compatible with
// FlexSecure. Its contract is the "result" values and status codes; every
// refusal is the same security error, so that callers cannot learn which
// users, systems or assignments exist.

// Limits on what an application may send.
const (
	maxAuthIDLength    = 256
	maxSystemLength    = 100
	maxUserAgentLength = 512
	minPINLength       = 4
	maxPINLength       = 18
)

// App API results.
const (
	resultSuccess       = "success"
	resultAuthenticated = "authenticated"
	resultPending       = "pending"
	resultExpired       = "expired"
)

// securityErrorBody is written as fixed bytes so that every refusal is
// byte-identical, whatever its real reason.
const securityErrorBody = `{"result":"security error"}`

func securityError(c *gin.Context) {
	c.Data(http.StatusForbidden, "application/json; charset=utf-8", []byte(securityErrorBody))
	c.Abort()
}

func result(c *gin.Context, status int, r string) {
	c.JSON(status, gin.H{"result": r})
}

// subject is what start and check name: a user of a system.
type subject struct {
	System string `json:"system"`
	AuthID string `json:"authid"`
}

func (s subject) validate() *requestError {
	switch {
	case s.System == "":
		return badRequest("system is required")
	case s.AuthID == "":
		return badRequest("authid is required")
	case utf8.RuneCountInString(s.System) > maxSystemLength:
		return badRequest("system must be at most %d characters", maxSystemLength)
	case utf8.RuneCountInString(s.AuthID) > maxAuthIDLength:
		return badRequest("authid must be at most %d characters", maxAuthIDLength)
	}
	return nil
}

type startResponse struct {
	Result    string `json:"result"`
	Attempt   string `json:"attempt"`
	Method    string `json:"method"`
	ExpiresAt string `json:"expires_at"`
}

// start begins an attempt. Whatever the outcome, it answers no sooner than
// StartFloor after the request arrived.
func (s *Server) start(c *gin.Context) {
	began := time.Now()
	ctx := c.Request.Context()
	key, ok, err := s.appKey(c)
	if err != nil || !ok {
		s.padStart(ctx, began)
		if err != nil {
			s.internalError(c, "look up api key", err)
			return
		}
		securityError(c)
		return
	}
	var req subject
	if rerr := decodeJSON(c, &req, false); rerr != nil {
		respondError(c, rerr)
		return
	}
	if rerr := req.validate(); rerr != nil {
		respondError(c, rerr)
		return
	}

	res, err := s.beginAttempt(ctx, workflows.AttemptInput{
		AttemptID: uuid.NewString(),
		AccountID: key.AccountID,
		System:    req.System,
		AuthID:    req.AuthID,
		IP:        c.ClientIP(),
		UserAgent: truncate(c.Request.UserAgent(), maxUserAgentLength),
	})
	s.padStart(ctx, began)
	switch {
	case err != nil:
		s.unavailable(c, "start attempt", err)
	case !res.Allowed:
		securityError(c)
	default:
		c.JSON(http.StatusOK, startResponse{
			Result: resultSuccess, Attempt: res.AttemptID, Method: res.Method,
			ExpiresAt: res.ExpiresAt.UTC().Format(time.RFC3339),
		})
	}
}

// padStart waits until StartFloor has passed since began, or the client
// has gone.
func (s *Server) padStart(ctx context.Context, began time.Time) {
	wait := s.cfg.StartFloor - time.Since(began)
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

type checkRequest struct {
	subject
	PIN pinInput `json:"pin"`
}

// check answers from the subject's latest attempt row. With a PIN or TOTP
// code for a pending attempt, it first submits the code to the workflow.
func (s *Server) check(c *gin.Context) {
	ctx := c.Request.Context()
	key, ok, err := s.appKey(c)
	if err != nil {
		s.internalError(c, "look up api key", err)
		return
	}
	if !ok {
		securityError(c)
		return
	}
	var req checkRequest
	if rerr := decodeJSON(c, &req, false); rerr != nil {
		respondError(c, rerr)
		return
	}
	if rerr := req.validate(); rerr != nil {
		respondError(c, rerr)
		return
	}

	att, err := s.store.LatestAttempt(ctx, key.AccountID, req.System, req.AuthID)
	if errors.Is(err, store.ErrNotFound) {
		securityError(c)
		return
	}
	if err != nil {
		s.internalError(c, "load latest attempt", err)
		return
	}
	now := s.now()
	takesCode := att.Method == policies.MethodPIN || att.Method == policies.MethodTOTP
	// A PIN sent with a passwordless attempt is ignored: the row answers.
	if !req.PIN.set || !takesCode || att.State != store.AttemptPending || pastExpiry(att, now) {
		s.answerFromRow(c, att, now)
		return
	}

	code := req.PIN.code(s.codeDigits(att.Method))
	v, err := s.submit(ctx, att, workflows.UpdateSubmitCode, activities.CodeDigest(s.keys, att.ID, code))
	if errors.Is(err, errAttemptClosed) {
		s.answerFromStore(c, att.ID)
		return
	}
	if err != nil {
		s.unavailable(c, "submit code", err)
		return
	}
	switch v.Verdict {
	case workflows.VerdictAccepted:
		result(c, http.StatusOK, resultAuthenticated)
	case workflows.VerdictRejected:
		securityError(c)
	default: // closed: the attempt ended before or while the code was checked
		s.answerFromState(c, v.State)
	}
}

// codeDigits is the length a numeric code is zero-padded to.
func (s *Server) codeDigits(method string) int {
	if method == policies.MethodTOTP {
		return int(activities.TOTPDigits)
	}
	return s.cfg.PINDigits
}

// answerFromStore re-reads an attempt whose run refused a submission.
func (s *Server) answerFromStore(c *gin.Context, attemptID string) {
	att, err := s.store.GetAttempt(c.Request.Context(), attemptID)
	if err != nil {
		s.internalError(c, "reload attempt", err)
		return
	}
	s.answerFromRow(c, att, s.now())
}

// answerFromRow maps an attempt row to the app API's answer.
func (s *Server) answerFromRow(c *gin.Context, att store.Attempt, now time.Time) {
	switch att.State {
	case store.AttemptPending:
		// The workflow's timer may fire a moment after the deadline; the
		// deadline is what the application was promised.
		if pastExpiry(att, now) {
			result(c, http.StatusForbidden, resultExpired)
			return
		}
		result(c, http.StatusAccepted, resultPending)
	case store.AttemptAuthenticated:
		// An old success must not open a new session forever: after the
		// grace period the application has to start again.
		if att.CompletedAt != nil && now.Sub(*att.CompletedAt) <= s.cfg.AuthenticatedGrace {
			result(c, http.StatusOK, resultAuthenticated)
			return
		}
		result(c, http.StatusForbidden, resultExpired)
	case store.AttemptExpired:
		result(c, http.StatusForbidden, resultExpired)
	default: // locked, denied, cancelled
		securityError(c)
	}
}

// answerFromState maps the state a closed verdict reports.
func (s *Server) answerFromState(c *gin.Context, state string) {
	switch state {
	case workflows.StateAuthenticated:
		result(c, http.StatusOK, resultAuthenticated)
	case workflows.StateExpired:
		result(c, http.StatusForbidden, resultExpired)
	default:
		securityError(c)
	}
}

func pastExpiry(att store.Attempt, now time.Time) bool {
	return att.ExpiresAt != nil && now.After(*att.ExpiresAt)
}

// pinInput is the optional "pin" of check: a JSON string of digits, or a
// JSON number (which loses leading zeros, restored by code).
type pinInput struct {
	set    bool
	digits string
	number bool
}

// UnmarshalJSON accepts null (no pin), a string of 4-18 digits, or a
// non-negative integer.
func (p *pinInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*p = pinInput{}
		return nil
	case len(b) > 0 && b[0] == '"':
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return badRequest("pin must be a string of digits or an integer")
		}
		str = strings.TrimSpace(str)
		if !allDigits(str) || len(str) < minPINLength || len(str) > maxPINLength {
			return badRequest("pin must be %d to %d digits", minPINLength, maxPINLength)
		}
		*p = pinInput{set: true, digits: str}
		return nil
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		if !allDigits(string(b)) {
			return badRequest("pin must be a non-negative integer")
		}
		if len(b) > maxPINLength {
			return badRequest("pin must be at most %d digits", maxPINLength)
		}
		*p = pinInput{set: true, digits: string(b), number: true}
		return nil
	}
	return badRequest("pin must be a string of digits or an integer")
}

// code returns the PIN as typed: a number shorter than digits gets back
// the leading zeros JSON dropped.
func (p pinInput) code(digits int) string {
	if p.number && len(p.digits) < digits {
		return strings.Repeat("0", digits-len(p.digits)) + p.digits
	}
	return p.digits
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes without splitting a character, and
// replaces invalid UTF-8 (a header may hold anything).
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
