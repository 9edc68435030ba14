package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/store"
)

// The welcome page: the one-time link sent when a user's email and
// password sign-in is turned on opens a page where the user creates a
// password. GET shows the form and changes nothing (mail scanners fetch
// links); the POST from the page itself sets the password, if the rules
// accept it, and uses the link up in the same transaction. Unknown, used,
// voided and expired links all get the same page.

// welcomeStore is the persistence the welcome page needs beyond the user
// and account lookups.
type welcomeStore interface {
	CredentialLinkByDigest(ctx context.Context, purpose, digest string) (store.CredentialLink, error)
	SetPasswordByLink(ctx context.Context, p store.PasswordByLink, events ...store.AuditEvent) error
}

var _ welcomeStore = (*store.Store)(nil)

// Audit event of a password set by its user.
const eventPasswordSet = "password.set"

// passwordTemplate is the page that asks for a new password. It shares the
// link pages' style (and so their CSP): no script, no other resource.
const passwordTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Refusals}}<div class="refusal" id="refusal" role="alert">
<p><strong>Your password was not set.</strong></p>
<ul>{{range .Refusals}}<li>{{.}}</li>{{end}}</ul>
</div>{{end}}
{{if .Form}}<h2>Your password</h2>
<ul id="rules">{{range .Rules}}<li>{{.}}</li>{{end}}</ul>
<form method="post">
<label for="username">Email address</label>
<input type="email" id="username" name="username" autocomplete="username" value="{{.Email}}" readonly>
<label for="password">New password</label>
<input type="password" id="password" name="password" autocomplete="new-password" required aria-describedby="rules"{{if .Refusals}} aria-invalid="true" autofocus{{end}}>
<label for="confirm">Type the new password again</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" required>
<button type="submit">Set my password</button>
</form>{{end}}
</main>
</body>
</html>
`

// passwordPage is what passwordTemplate shows.
type passwordPage struct {
	Title    string
	Message  string
	Refusals []string // why the password was not set
	Form     bool
	Rules    []string
	Email    string
}

func (s *Server) renderPasswordPage(c *gin.Context, status int, p passwordPage) {
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := s.passwordPages.Execute(c.Writer, p); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render password page", "error", err)
	}
	c.Abort()
}

// goneWelcome is the one page for every welcome link that cannot be used.
func goneWelcome() page {
	return page{
		Title:   "This link has expired or was already used",
		Message: "Ask your organisation's administrator to send you a new one.",
	}
}

// welcomeFor is a live welcome link with its user and account.
type welcomeFor struct {
	link    store.CredentialLink
	digest  string
	user    store.User
	account store.Account
}

// welcomeLink finds the live welcome link of the request's token. found is
// false for a token that is malformed, unknown, used, voided or expired,
// or whose user (or account) no longer has email and password sign-in: the
// page does not say which.
func (s *Server) welcomeLink(c *gin.Context) (w welcomeFor, found bool, err error) {
	token := c.Param("token")
	if !wellFormedToken(token) {
		return welcomeFor{}, false, nil
	}
	ctx := c.Request.Context()
	w.digest = activities.CredentialLinkDigest(s.keys, token)
	w.link, err = s.store.CredentialLinkByDigest(ctx, store.LinkWelcome, w.digest)
	if errors.Is(err, store.ErrNotFound) {
		return welcomeFor{}, false, nil
	}
	if err != nil {
		return welcomeFor{}, false, err
	}
	if !w.link.Live(s.now()) {
		return welcomeFor{}, false, nil
	}
	if w.user, err = s.store.UserByID(ctx, w.link.UserID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return welcomeFor{}, false, nil
		}
		return welcomeFor{}, false, err
	}
	if w.account, err = s.store.GetAccount(ctx, w.link.AccountID); err != nil {
		return welcomeFor{}, false, err
	}
	if !w.user.EmailPasswordLogin || !w.account.EmailPasswordLogin {
		return welcomeFor{}, false, nil
	}
	return w, true, nil
}

// organisation is how the pages name an account.
func organisation(a store.Account) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// welcomeForm is the form to create a password, with refusals when a
// submission was refused.
func (s *Server) welcomeForm(w welcomeFor, refusals ...string) passwordPage {
	return passwordPage{
		Title:    "Create your password for " + organisation(w.account),
		Message:  "Choose the password you will sign in with, with your email address.",
		Refusals: refusals,
		Form:     true,
		Rules:    s.passwords.Rules(),
		Email:    w.user.Email,
	}
}

// showWelcome shows the form for a live welcome link. It changes nothing.
func (s *Server) showWelcome(c *gin.Context) {
	w, found, err := s.welcomeLink(c)
	switch {
	case err != nil:
		s.log.ErrorContext(c.Request.Context(), "look up welcome link", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
	case !found:
		s.renderPage(c, http.StatusGone, goneWelcome())
	default:
		s.renderPasswordPage(c, http.StatusOK, s.welcomeForm(w))
	}
}

// setWelcomePassword sets the password the form carries, when the rules
// accept it, and uses the link up. A refusal shows the form again with
// the reasons and changes nothing: the link still works.
func (s *Server) setWelcomePassword(c *gin.Context) {
	if !s.sameOrigin(c.Request) {
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Use the page from your message",
			Message: "This form did not come from flexauth's own page. Open the link in your message again and set your password there.",
		})
		return
	}
	ctx := c.Request.Context()
	w, found, err := s.welcomeLink(c)
	if err != nil {
		s.log.ErrorContext(ctx, "look up welcome link", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		return
	}
	if !found {
		s.renderPage(c, http.StatusGone, goneWelcome())
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		s.renderPasswordPage(c, http.StatusBadRequest, s.welcomeForm(w, "The form could not be read. Type your password again."))
		return
	}
	// The password is used as typed: never trimmed, cut or logged.
	plain, again := c.Request.PostForm.Get("password"), c.Request.PostForm.Get("confirm")
	switch {
	case plain == "":
		s.renderPasswordPage(c, http.StatusUnprocessableEntity, s.welcomeForm(w, "Type a password."))
		return
	case plain != again:
		s.renderPasswordPage(c, http.StatusUnprocessableEntity, s.welcomeForm(w, "The two passwords are not the same. Type the same password in both fields."))
		return
	}
	who := PasswordContext{Email: w.user.Email, Name: w.user.Name, Account: organisation(w.account)}
	if err := s.passwords.Check(plain, who); err != nil {
		s.renderPasswordPage(c, http.StatusUnprocessableEntity, s.welcomeForm(w, err.Error()))
		return
	}
	hash, err := s.passwords.Hash(plain)
	if err != nil {
		s.log.ErrorContext(ctx, "hash password", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		return
	}
	now := s.now().UTC()
	ev := store.AuditEvent{
		AccountID: w.account.ID, Time: now, Type: eventPasswordSet, AuthID: w.user.AuthID, IP: c.ClientIP(),
		Reasons: []string{"set by the user with a welcome link"},
		Detail:  map[string]any{"actor": "user:" + w.user.AuthID, "link": w.link.ID, "via": store.LinkWelcome},
	}
	err = s.store.SetPasswordByLink(ctx, store.PasswordByLink{
		LinkID: w.link.ID, Digest: w.digest, Purpose: store.LinkWelcome, UserID: w.user.ID, Hash: hash, At: now,
	}, ev)
	switch {
	case errors.Is(err, store.ErrLinkGone):
		// Used by a submission that got there first, or voided meanwhile.
		s.renderPage(c, http.StatusGone, goneWelcome())
	case err != nil:
		s.log.ErrorContext(ctx, "set password", "error", err)
		s.renderPage(c, http.StatusInternalServerError, unavailablePage())
	default:
		s.renderPasswordPage(c, http.StatusOK, passwordPage{
			Title:   "Your password is set",
			Message: "Your password for " + organisation(w.account) + " is set. You can close this page.",
		})
	}
}
