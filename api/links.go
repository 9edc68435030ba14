package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// The end-user link pages. GET shows a confirmation form and changes
// nothing, because mail scanners and link previews fetch every URL in a
// message; only the POST from the form confirms the attempt.

// tokenLength is a secret.TokenBytes token in unpadded base64url.
const tokenLength = 43

// pageStyle is the pages' only style (the link pages' and the password
// pages'); its hash is the only one the CSP allows.
const pageStyle = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222;overflow-wrap:anywhere}` +
	`h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:.3rem;background:#1d4ed8;color:#fff;cursor:pointer}` +
	`dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;padding:.8rem 1rem;background:#f3f4f6;border-radius:.3rem}` +
	`dt{color:#555}dd{margin:0;overflow-wrap:anywhere}` +
	`label{display:block;font-weight:600;margin:1rem 0 .3rem}` +
	`input{box-sizing:border-box;width:100%;max-width:100%;font:inherit;padding:.55rem .6rem;border:1px solid #6b7280;border-radius:.3rem}` +
	`input[readonly]{background:#f3f4f6}form button{margin-top:1.25rem}` +
	`:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}` +
	`.refusal{border:1px solid #b42318;background:#fdecea;color:#7a1a12;padding:.2rem 1rem;border-radius:.3rem}` +
	`ul{padding-left:1.25rem}li{margin:.2rem 0}`

const pageTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
{{if .Continue}}<meta http-equiv="refresh" content="0; url={{.Continue}}">{{end}}
<style>` + pageStyle + `</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{with .Request}}<dl id="request">
<dt>Requested from</dt><dd id="request-ip">{{.IP}}</dd>
<dt>Browser</dt><dd id="request-browser">{{.Browser}}</dd>
<dt>When</dt><dd id="request-time">{{.Time}}</dd>
</dl>{{end}}
{{if .Note}}<p><strong>{{.Note}}</strong></p>{{end}}
{{if .Form}}<form method="post">
<button type="submit">{{if .Button}}{{.Button}}{{else}}Sign in{{end}}</button>
</form>{{end}}
{{if .Continue}}<p><a id="continue" href="{{.Continue}}">{{if .ContinueText}}{{.ContinueText}}{{else}}Continue to your organisation's sign-in page{{end}}</a></p>{{end}}
{{if .Next}}<p><a id="next" href="{{.Next}}">{{.NextText}}</a></p>{{end}}
</body>
</html>
`

// pageCSP allows nothing but the page's own style and posting its form
// back to itself.
func pageCSP() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

type page struct {
	Title   string
	Message string
	// Request says who asked for the sign-in a link confirms, so that the
	// person can tell a sign-in of their own from someone else's.
	Request *linkRequest
	Note    string // said after Request, in bold
	Form    bool
	Button  string // the form's button; "Sign in" when empty
	// Continue is where the browser goes next (a provider's authorization
	// URL): a refresh and a link, since a redirect after the form's POST
	// would be blocked by the page's form-action policy.
	Continue     template.URL
	ContinueText string // the link's text; the provider's sign-in page when empty
	// Next is a link onwards (the console after signing in to it).
	Next     template.URL
	NextText string
}

// linkRequest is the sign-in behind a link as its page shows it. Every
// field comes from the request that started the attempt, which anyone may
// have sent: html/template escapes them.
type linkRequest struct {
	IP      string
	Browser string
	Time    string
}

func requestOf(att store.Attempt) *linkRequest {
	ip := att.IP
	if ip == "" {
		ip = "unknown"
	}
	return &linkRequest{
		IP: ip, Browser: describeBrowser(att.UserAgent),
		Time: att.StartedAt.UTC().Format("Monday 2 January 2006, 15:04:05 UTC"),
	}
}

// goneLink is the one page for every link that cannot sign in: unknown,
// malformed, used, superseded or expired look the same.
func goneLink() page {
	return page{
		Title:   "This link has expired or was already used",
		Message: "Start signing in again from the application to get a new link.",
	}
}

func unavailablePage() page {
	return page{Title: "Sign-in is unavailable right now", Message: "Try again in a moment."}
}

func (s *Server) renderPage(c *gin.Context, status int, p page) {
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := s.pages.Execute(c.Writer, p); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "error", err)
	}
	c.Abort()
}

// linkAttempt finds the attempt a link token belongs to. found is false for
// a token that is malformed or unknown; the page does not say which.
func (s *Server) linkAttempt(c *gin.Context) (att store.Attempt, digest string, found bool, err error) {
	return s.tokenAttempt(c, func(token string) string { return attempt.LinkDigest(s.keys, token) }, s.store.AttemptByLinkDigest)
}

// tokenAttempt finds the attempt whose page token the request's path
// carries, by the token's digest. found is false for a token that is
// malformed or unknown: the pages do not say which.
func (s *Server) tokenAttempt(c *gin.Context, digestOf func(string) string,
	find func(context.Context, string) (store.Attempt, error)) (att store.Attempt, digest string, found bool, err error) {
	token := c.Param("token")
	if !wellFormedToken(token) {
		return store.Attempt{}, "", false, nil
	}
	digest = digestOf(token)
	att, err = find(c.Request.Context(), digest)
	if errors.Is(err, store.ErrNotFound) {
		return store.Attempt{}, "", false, nil
	}
	if err != nil {
		return store.Attempt{}, "", false, err
	}
	return att, digest, true, nil
}

// live reports whether a link's attempt can still be confirmed.
func (s *Server) live(att store.Attempt) bool {
	return att.State == store.AttemptPending && !pastExpiry(att, s.now())
}

// showLink shows the confirmation form for a live link, with who asked
// for it and when. It changes nothing.
func (s *Server) showLink(c *gin.Context) {
	att, _, found, err := s.linkAttempt(c)
	switch {
	case err != nil:
		s.log.ErrorContext(c.Request.Context(), "look up link", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
	case !found || !s.live(att):
		s.renderPage(c, http.StatusGone, goneLink())
	case att.System == consoleSystem:
		p := page{
			Title:   "Sign in to the flexauth console?",
			Message: "Someone asked to sign in to the console of " + att.AccountID + " as " + att.AuthID + ":",
			Request: requestOf(att),
			Note:    "Confirming signs you in to the console in this browser. If you did not just try to sign in, close this page and nothing happens.",
			Form:    true,
		}
		if att.Method == attempt.MethodSSO {
			p.Note = "Confirming continues to your organisation's sign-in page, then signs you in to the console in this browser. If you did not just try to sign in, close this page and nothing happens."
			p.Button = "Continue"
		}
		s.renderPage(c, http.StatusOK, p)
	case att.Method == attempt.MethodSSO:
		s.renderPage(c, http.StatusOK, page{
			Title:   "Sign in to " + att.System + " with your organisation's account?",
			Message: "Someone asked to sign in to " + att.System + ":",
			Request: requestOf(att),
			Note:    "You will be sent to your organisation's sign-in page. If you did not try to sign in, close this page and nothing happens.",
			Form:    true, Button: "Continue",
		})
	default:
		s.renderPage(c, http.StatusOK, page{
			Title:   "Sign in to " + att.System + "?",
			Message: "Someone asked to sign in to " + att.System + ":",
			Request: requestOf(att),
			Note:    "Confirm that it is you signing in. If you did not try to sign in, close this page and nothing happens.",
			Form:    true,
		})
	}
}

// confirmLink submits the link to the attempt's workflow, which alone
// decides. Only a form posted by the link's own page is taken: another
// site posting it (login CSRF) would sign its victim's browser in to the
// attacker's sign-in.
func (s *Server) confirmLink(c *gin.Context) {
	if !s.sameOrigin(c.Request) {
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Confirm on the sign-in page",
			Message: "This confirmation did not come from flexauth's own page. Open the link in your message again and confirm there.",
		})
		return
	}
	att, digest, found, err := s.linkAttempt(c)
	if err != nil {
		s.log.ErrorContext(c.Request.Context(), "look up link", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		return
	}
	if !found || !s.live(att) {
		s.renderPage(c, http.StatusGone, goneLink())
		return
	}
	if att.Method == attempt.MethodSSO {
		s.startSSO(c, att, digest)
		return
	}
	v, err := s.submit(c.Request.Context(), att, workflows.UpdateConfirmLink, digest)
	switch {
	case errors.Is(err, errAttemptClosed):
		s.renderPage(c, http.StatusGone, goneLink())
	case err != nil:
		s.log.ErrorContext(c.Request.Context(), "confirm link", "error", err)
		s.renderPage(c, http.StatusServiceUnavailable, unavailablePage())
	case v.Verdict == workflows.VerdictAccepted:
		s.signedInPage(c, att)
	default:
		s.renderPage(c, http.StatusGone, goneLink())
	}
}

// signedInPage answers the browser that completed a link (or the single
// sign-on it led to). A console sign-in opens its session here, in the
// browser that confirmed, never in the one that started it: whoever
// started a sign-in for an administrator gets nothing from the
// administrator's confirming it.
func (s *Server) signedInPage(c *gin.Context, att store.Attempt) {
	if att.System != consoleSystem {
		p := page{Title: "You are signed in to " + att.System + ".", Message: "You can close this tab."}
		if back := s.returnURL(c.Request.Context(), att); back != "" {
			// The system asked for its users back: send them.
			p.Message = "Taking you back to " + att.System + "."
			p.Continue, p.ContinueText = template.URL(back), "Continue to "+att.System
		}
		s.renderPage(c, http.StatusOK, p)
		return
	}
	_, _, err := s.createSession(c, att)
	switch {
	case errors.Is(err, errSignInRefused):
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Sign-in refused",
			Message: "This user may no longer sign in to the console. Ask another administrator to check your access.",
		})
	case errors.Is(err, errSignInUsed):
		s.renderPage(c, http.StatusGone, goneLink())
	case err != nil:
		s.log.ErrorContext(c.Request.Context(), "open console session", "error", err, "attempt", att.ID)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
	default:
		s.renderPage(c, http.StatusOK, page{
			Title:   "You are signed in to the console",
			Message: "This browser is now signed in to the console of " + att.AccountID + " as " + att.AuthID + ".",
			Next:    "/console/", NextText: "Open the console",
		})
	}
}

// sameOrigin reports whether a form POST came from a page of this server:
// its Origin is the public URL's. Browsers send "Origin: null" instead
// when a page's referrer policy is no-referrer (the link pages' is
// same-origin, so that they send their origin); then, or without an
// Origin, Sec-Fetch-Site must say same-origin. A client that sends neither
// is refused.
func (s *Server) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return s.publicOrigin != "" && strings.EqualFold(o, s.publicOrigin)
	}
	return r.Header.Get("Sec-Fetch-Site") == "same-origin"
}

// originOf is the origin of an absolute http(s) URL as browsers send it
// in Origin, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

func wellFormedToken(t string) bool {
	if len(t) != tokenLength {
		return false
	}
	for i := 0; i < len(t); i++ {
		ch := t[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}
