package api

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
)

// requestLog logs one line per request: method, path (link tokens
// redacted), status and duration. Never headers (the apikey) or bodies
// (PINs).
func (s *Server) requestLog(c *gin.Context) {
	began := time.Now()
	c.Next()
	status := c.Writer.Status()
	level := slog.LevelInfo
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	s.log.LogAttrs(c.Request.Context(), level, "request",
		slog.String("method", c.Request.Method),
		slog.String("path", redactPath(c.Request.URL.Path)),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(began)),
		slog.String("client_ip", c.ClientIP()),
	)
}

// redactPath hides the token of a link page (a sign-in link, a welcome
// link): it is a bearer credential until it is used.
func redactPath(p string) string {
	for _, prefix := range []string{attempt.LinkPath, attempt.WelcomePath, attempt.ResetPath, attempt.PagePath, attempt.VerifyPath} {
		if strings.HasPrefix(p, prefix) {
			return prefix + "REDACTED"
		}
	}
	return p
}

// recovery turns a panic into a 500 JSON answer and a log line with the
// stack, instead of a dropped connection. gin.Recovery is not used because
// it dumps request headers, the apikey among them.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			panic(v) // the client went away; net/http handles this one quietly
		}
		s.log.ErrorContext(c.Request.Context(), "panic serving request",
			"method", c.Request.Method, "path", redactPath(c.Request.URL.Path),
			"panic", v, "stack", string(debug.Stack()))
		if !c.Writer.Written() {
			fail(c, http.StatusInternalServerError, "internal error")
			return
		}
		c.Abort()
	}()
	c.Next()
}

// limitBody caps the request body at the route's bodyLimit; reading past
// it fails with *http.MaxBytesError, which decodeJSON answers with 413.
func (s *Server) limitBody(c *gin.Context) {
	limit := s.bodyLimit(c)
	if c.Request.ContentLength > limit {
		failf(c, http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", limit)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

// bodyLimit is MaxBodyBytes, except for routes that take files: their
// limit is their own, whatever MaxBodyBytes says.
func (s *Server) bodyLimit(c *gin.Context) int64 {
	switch c.FullPath() {
	case importUsersPath:
		return maxImportBytes
	case policyPath:
		return maxPolicyBytes
	}
	return s.cfg.MaxBodyBytes
}

// pageHeaders protects the end-user pages: never cached (they are per
// attempt), never framed (a framed confirm button is clickjacking), no
// referrer to other sites (the URL carries the token; same-origin, so
// that every browser sends the page's own form with a real Origin, which
// the confirmation requires), and nothing but their own inline style may
// run.
func (s *Server) pageHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", s.csp)
	c.Next()
}

// adminPath is where the admin API lives, the console's session routes
// included.
const adminPath = "/v1/admin"

// noStoreAdmin keeps every admin API answer, errors included, out of
// browser and proxy caches: they carry personal data (users, the audit
// trail, exports), secrets shown once (API keys, TOTP seeds, recovery
// codes) and the session's CSRF token. A middleware on the engine, not the
// admin group, so that the session routes, the dev outbox and 404 and 405
// answers under the path are covered too.
func (s *Server) noStoreAdmin(c *gin.Context) {
	if p := c.Request.URL.Path; p == adminPath || strings.HasPrefix(p, adminPath+"/") {
		c.Header("Cache-Control", "no-store")
	}
	c.Next()
}
