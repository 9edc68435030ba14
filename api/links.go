package api

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// The end-user link pages. GET shows a confirmation form and changes
// nothing, because mail scanners and link previews fetch every URL in a
// message; only the POST from the form confirms the attempt.

// tokenLength is a secret.TokenBytes token in unpadded base64url.
const tokenLength = 43

// pageStyle is the pages' only style; its hash is the only one the CSP
// allows.
const pageStyle = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}` +
	`h1{font-size:1.4rem}button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:.3rem;background:#1d4ed8;color:#fff;cursor:pointer}`

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
{{if .Form}}<form method="post">
<button type="submit">{{if .Button}}{{.Button}}{{else}}Sign in{{end}}</button>
</form>{{end}}
{{if .Continue}}<p><a id="continue" href="{{.Continue}}">Continue to your organisation's sign-in page</a></p>{{end}}
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
	Form    bool
	Button  string // the form's button; "Sign in" when empty
	// Continue is where the browser goes next (a provider's authorization
	// URL): a refresh and a link, since a redirect after the form's POST
	// would be blocked by the page's form-action policy.
	Continue template.URL
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
	token := c.Param("token")
	if !wellFormedToken(token) {
		return store.Attempt{}, "", false, nil
	}
	digest = activities.LinkDigest(s.keys, token)
	att, err = s.store.AttemptByLinkDigest(c.Request.Context(), digest)
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

// showLink shows the confirmation form for a live link.
func (s *Server) showLink(c *gin.Context) {
	att, _, found, err := s.linkAttempt(c)
	switch {
	case err != nil:
		s.log.ErrorContext(c.Request.Context(), "look up link", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
	case !found || !s.live(att):
		s.renderPage(c, http.StatusGone, goneLink())
	case att.Method == policies.MethodSSO:
		s.renderPage(c, http.StatusOK, page{
			Title:   "Sign in to " + att.System + " with your organisation's account?",
			Message: "You will be sent to your organisation's sign-in page. If you did not try to sign in, close this page and nothing happens.",
			Form:    true, Button: "Continue",
		})
	default:
		s.renderPage(c, http.StatusOK, page{
			Title:   "Sign in to " + att.System + "?",
			Message: "Confirm that it is you signing in. If you did not try to sign in, close this page and nothing happens.",
			Form:    true,
		})
	}
}

// confirmLink submits the link to the attempt's workflow, which alone
// decides.
func (s *Server) confirmLink(c *gin.Context) {
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
	if att.Method == policies.MethodSSO {
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
		s.renderPage(c, http.StatusOK, page{
			Title:   "You are signed in to " + att.System + ".",
			Message: "You can close this tab.",
		})
	default:
		s.renderPage(c, http.StatusGone, goneLink())
	}
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
