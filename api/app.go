package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
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
	resultSecurityError = "security error"
)

// securityErrorBody is written as fixed bytes so that every refusal is
// byte-identical, whatever its real reason.
const securityErrorBody = `{"result":"security error"}`

func securityError(c *gin.Context) {
	c.Set(resultContext, resultSecurityError)
	c.Data(http.StatusForbidden, "application/json; charset=utf-8", []byte(securityErrorBody))
	c.Abort()
}

// result answers {"result": r}. r is one of the result constants, plain
// words with nothing to escape, so the body is written as it is, without
// a map and reflection per answer (applications poll check every few
// seconds for every waiting user).
func result(c *gin.Context, status int, r string) {
	c.Set(resultContext, r)
	c.Data(status, "application/json; charset=utf-8", []byte(`{"result":"`+r+`"}`))
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
	// As the admin API refuses them: before any attempt, audit or lookup.
	return firstError(checked(userio.CheckText("system", s.System)), checked(userio.CheckText("authid", s.AuthID)))
}

type startResponse struct {
	Result    string `json:"result"`
	Attempt   string `json:"attempt"`
	Method    string `json:"method"`
	ExpiresAt string `json:"expires_at"`
	// URL, for a password or sso attempt, is the page flexauth hosts where
	// the application sends the user's browser.
	URL string `json:"url,omitempty"`
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
	if attempt.Anonymous(req.System) {
		// Sign-ins to the security settings start only from their page:
		// an application that could start one would learn its URL. Those
		// of the console start only from the console's: an application's
		// start would supersede an administrator's sign-in in progress.
		s.padStart(ctx, began)
		securityError(c)
		return
	}

	res, token, err := s.beginFor(c, key.AccountID, req)
	s.padStart(ctx, began)
	switch {
	case err != nil:
		s.unavailable(c, "start attempt", err)
	case !res.Allowed:
		securityError(c)
	default:
		out := startResponse{
			Result: resultSuccess, Attempt: res.AttemptID, Method: res.Method,
			ExpiresAt: res.ExpiresAt.UTC().Format(time.RFC3339),
		}
		if attempt.Hosted(res.Method) {
			out.URL = s.pageURL(token)
		}
		c.Set(resultContext, resultSuccess)
		c.Set(methodContext, res.Method)
		c.JSON(http.StatusOK, out)
	}
}

// beginFor starts an attempt of the request's client for sub in account.
// The app API's start and the console's sign-in share it, so both run the
// same policy, workflow and lock-out.
//
// Every start draws the token of a hosted page: the workflow learns only
// its digest, and a password or sso attempt is found by it from the URL
// start answers (pageURL(token)).
func (s *Server) beginFor(c *gin.Context, accountID string, sub subject) (res workflows.BeginResult, token string, err error) {
	if token, err = secret.NewToken(); err != nil {
		return workflows.BeginResult{}, "", fmt.Errorf("draw page token: %w", err)
	}
	res, err = s.beginAttempt(c.Request.Context(), workflows.AttemptInput{
		AttemptID:  uuid.NewString(),
		AccountID:  accountID,
		System:     sub.System,
		AuthID:     sub.AuthID,
		IP:         c.ClientIP(),
		UserAgent:  truncate(c.Request.UserAgent(), maxUserAgentLength),
		PageDigest: attempt.PageDigest(s.keys, token),
	})
	return res, token, err
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
	// Attempt, when set, binds the poll to the attempt its start returned:
	// the answer is that attempt's, never a later or another one's.
	Attempt string `json:"attempt"`
}

// maxAttemptIDLength bounds an attempt ID sent back by a client; real ones
// are 36-character UUIDs.
const maxAttemptIDLength = 64

// check answers from the subject's latest attempt row. With a PIN or TOTP
// code for a pending attempt, it first submits the code to the workflow.
//
// Applications poll it every few seconds for every waiting user, so a
// well-formed poll costs one query: the key and the attempt together
// (store.Poll). The answers are those of the key first, then the request.
func (s *Server) check(c *gin.Context) {
	ctx := c.Request.Context()
	var req checkRequest
	rerr := decodeJSON(c, &req, false)
	if rerr == nil {
		rerr = req.validate()
	}
	if rerr == nil && len(req.Attempt) > maxAttemptIDLength {
		rerr = badRequest("attempt must be at most %d characters", maxAttemptIDLength)
	}
	if rerr == nil {
		// PostgreSQL refuses a NUL or invalid UTF-8 in a text parameter:
		// the poll would fail as a server error instead of a bad request.
		if err := userio.CheckText("attempt", req.Attempt); err != nil {
			rerr = badRequest("%s", err.Error())
		}
	}
	if rerr != nil || attempt.Anonymous(req.System) {
		// A bad key is answered before a bad request, as everywhere.
		_, ok, err := s.appKey(c)
		switch {
		case err != nil:
			s.internalError(c, "look up api key", err)
		case !ok || rerr == nil:
			securityError(c) // the security settings' and the console's sign-ins are no application's
		default:
			respondError(c, rerr)
		}
		return
	}
	att, ok, err := s.polledAttempt(c, req)
	if err != nil {
		s.internalError(c, "load latest attempt", err)
		return
	}
	if !ok {
		securityError(c)
		return
	}
	r, err := s.settle(ctx, att, req.PIN)
	if err != nil {
		s.settleFailed(c, err)
		return
	}
	respondResult(c, r)
}

// polledAttempt resolves the request's app key and the attempt its check
// asks about in one query: the one it names, when it is the subject's, or
// else the subject's latest. ok is false for a missing, unknown or
// non-app key and for an attempt of another account, system or user, so a
// poll cannot learn about attempts that are not its own.
func (s *Server) polledAttempt(c *gin.Context, req checkRequest) (store.Attempt, bool, error) {
	raw := c.GetHeader(apiKeyHeader)
	if raw == "" || len(raw) > maxKeyLength {
		return store.Attempt{}, false, nil
	}
	key, att, found, err := s.store.Poll(c.Request.Context(), secret.HashAPIKey(raw),
		store.AttemptPoll{System: req.System, AuthID: req.AuthID, ID: req.Attempt})
	if errors.Is(err, store.ErrNotFound) {
		return store.Attempt{}, false, nil
	}
	if err != nil {
		return store.Attempt{}, false, fmt.Errorf("look up api key and attempt: %w", err)
	}
	s.touchKey(c, key)
	if key.Scope != store.ScopeApp || !found {
		return store.Attempt{}, false, nil
	}
	return att, true, nil
}

// errUnavailable marks a settle failure caused by Temporal, not the store.
var errUnavailable = errors.New("temporal unavailable")

// settle answers a check of att: with a PIN, TOTP or recovery code for a
// pending attempt, it first submits the code to the workflow. The result
// is one of the app API results or resultSecurityError.
func (s *Server) settle(ctx context.Context, att store.Attempt, pin pinInput) (string, error) {
	now := s.now()
	takesCode := att.Method == attempt.MethodPIN || att.Method == attempt.MethodTOTP
	// A PIN sent with a passwordless attempt is ignored: the row answers.
	if !pin.set || !takesCode || att.State != store.AttemptPending || pastExpiry(att, now) {
		return s.rowResult(att, now), nil
	}

	// The workflow only ever sees the code's digest, bound to the attempt,
	// and what kind of code it is, so that it is counted against its own
	// factor. A recovery code is digested as it is stored: by its digest.
	sub := workflows.Submission{AttemptID: att.ID, Factor: attempt.MethodFactor(att.Method)}
	if code := pin.code(s.codeDigits(att.Method)); pin.recovery {
		sub.Factor = attempt.FactorRecovery
		sub.Digest = attempt.CodeDigest(s.keys, att.ID, attempt.RecoveryDigest(s.keys, code))
		for _, d := range attempt.PreviousRecoveryDigests(s.keys, code) {
			sub.Alternates = append(sub.Alternates, attempt.CodeDigest(s.keys, att.ID, d))
		}
	} else {
		sub.Digest = attempt.CodeDigest(s.keys, att.ID, code)
	}
	v, err := s.submitWith(ctx, att, workflows.UpdateSubmitCode, sub)
	if v.Verdict == workflows.VerdictAccepted && pin.recovery {
		s.wakeLinkDispatcher() // the recovery's notice
	}
	if errors.Is(err, errAttemptClosed) {
		att, err := s.store.GetAttempt(ctx, att.ID)
		if err != nil {
			return "", fmt.Errorf("reload attempt: %w", err)
		}
		return s.rowResult(att, s.now()), nil
	}
	if err != nil {
		return "", fmt.Errorf("submit code: %w: %w", errUnavailable, err)
	}
	switch v.Verdict {
	case workflows.VerdictAccepted:
		if sub.Factor == attempt.FactorRecovery {
			s.wakeLinkDispatcher() // the notice of the code used
		}
		return resultAuthenticated, nil
	case workflows.VerdictRejected:
		return resultSecurityError, nil
	default: // closed: the attempt ended before or while the code was checked
		return stateResult(v.State), nil
	}
}

// settleFailed answers a settle error: 503 when Temporal did not answer,
// 500 when the store failed.
func (s *Server) settleFailed(c *gin.Context, err error) {
	if errors.Is(err, errUnavailable) {
		s.unavailable(c, "check attempt", err)
		return
	}
	s.internalError(c, "check attempt", err)
}

// respondResult writes an app API result with its status.
func respondResult(c *gin.Context, r string) {
	switch r {
	case resultAuthenticated:
		result(c, http.StatusOK, r)
	case resultPending:
		result(c, http.StatusAccepted, r)
	case resultExpired:
		result(c, http.StatusForbidden, r)
	default:
		securityError(c)
	}
}

// codeDigits is the length a numeric code is zero-padded to.
func (s *Server) codeDigits(method string) int {
	if method == attempt.MethodTOTP {
		return int(attempt.TOTPDigits)
	}
	return s.cfg.PINDigits
}

// rowResult maps an attempt row to the app API's result.
func (s *Server) rowResult(att store.Attempt, now time.Time) string {
	switch att.State {
	case store.AttemptPending:
		// The workflow's timer may fire a moment after the deadline; the
		// deadline is what the application was promised.
		if pastExpiry(att, now) {
			return resultExpired
		}
		return resultPending
	case store.AttemptAuthenticated:
		// An old success must not open a new session forever: after the
		// grace period the application has to start again.
		if att.CompletedAt != nil && now.Sub(*att.CompletedAt) <= s.cfg.AuthenticatedGrace {
			return resultAuthenticated
		}
		return resultExpired
	case store.AttemptExpired:
		return resultExpired
	default: // locked, denied, cancelled
		return resultSecurityError
	}
}

// stateResult maps the state a closed verdict reports.
func stateResult(state string) string {
	switch state {
	case workflows.StateAuthenticated:
		return resultAuthenticated
	case workflows.StateExpired:
		return resultExpired
	default:
		return resultSecurityError
	}
}

func pastExpiry(att store.Attempt, now time.Time) bool {
	return att.ExpiresAt != nil && now.After(*att.ExpiresAt)
}

// pinInput is the optional "pin" of check: a JSON string of digits, a
// JSON number (which loses leading zeros, restored by code), or a TOTP
// recovery code as a string.
type pinInput struct {
	set      bool
	digits   string // the digits, or a recovery code's canonical form
	number   bool
	recovery bool // a recovery code, not digits
}

// UnmarshalJSON accepts null (no pin), a string of 4-18 digits or a
// recovery code, or a non-negative integer.
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
		if !allDigits(str) {
			// Not a PIN: a TOTP recovery code, typed in any case, with or
			// without its dash. It is submitted like any code.
			if code, ok := secret.NormalizeRecoveryCode(str); ok {
				*p = pinInput{set: true, digits: code, recovery: true}
				return nil
			}
			return badRequest("pin must be %d to %d digits, or a recovery code such as ABCDE-FGHJK-LMNPQ", minPINLength, maxPINLength)
		}
		if len(str) < minPINLength || len(str) > maxPINLength {
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
