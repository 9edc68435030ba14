package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// The welcome page: the one-time link sent when a user's email and
// password sign-in is turned on opens a page where the user creates a
// password. GET shows the form and changes nothing (mail scanners fetch
// links); the POST from the page itself sets the password, if the rules
// accept it, and uses the link up in the same transaction. Unknown, used,
// voided and expired links all get the same page. The reset page
// (reset.go) is the same page for a reset link.

// welcomeStore is the persistence the welcome and reset pages need beyond
// the user and account lookups.
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
{{if .Note}}<p id="note"><strong>{{.Note}}</strong></p>{{end}}
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
	Note     string   // said after Message, in bold
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

// passwordLinkKind is what differs between the pages that set a password
// with a one-time link: the welcome page (a first password) and the reset
// page (a new one).
type passwordLinkKind struct {
	purpose string // store.LinkWelcome or store.LinkReset
	// gone is the one page for every link of the kind that cannot be used.
	gone page
	// title and message head the form.
	title   func(l passwordLinkFor) string
	message string
	note    string
	// event is the audit event of a password set, reason its reason.
	event, reason string
	// done is the page after the password is set.
	done func(l passwordLinkFor) passwordPage
	// notify sends the user a notice once the password is set.
	notify bool
}

// welcomeKind is the welcome page's.
func welcomeKind() passwordLinkKind {
	return passwordLinkKind{
		purpose: store.LinkWelcome,
		gone: page{
			Title:   "This link has expired or was already used",
			Message: "Ask your organisation's administrator to send you a new one.",
		},
		title:   func(l passwordLinkFor) string { return "Create your password for " + organisation(l.account) },
		message: "Choose the password you will sign in with, with your email address.",
		event:   eventPasswordSet,
		reason:  "set by the user with a welcome link",
		done: func(l passwordLinkFor) passwordPage {
			return passwordPage{
				Title:   "Your password is set",
				Message: "Your password for " + organisation(l.account) + " is set. You can close this page.",
			}
		},
	}
}

// passwordLinkFor is a live link with its user and account.
type passwordLinkFor struct {
	link    store.CredentialLink
	digest  string
	user    store.User
	account store.Account
}

// passwordLink finds the live link of kind k of the request's token. found
// is false for a token that is malformed, unknown, used, voided or
// expired, or whose user (or account) no longer has email and password
// sign-in: the page does not say which.
func (s *Server) passwordLink(c *gin.Context, k passwordLinkKind) (l passwordLinkFor, found bool, err error) {
	token := c.Param("token")
	if !wellFormedToken(token) {
		return passwordLinkFor{}, false, nil
	}
	ctx := c.Request.Context()
	l.digest = attempt.CredentialLinkDigest(s.keys, token)
	l.link, err = s.store.CredentialLinkByDigest(ctx, k.purpose, l.digest)
	if errors.Is(err, store.ErrNotFound) {
		return passwordLinkFor{}, false, nil
	}
	if err != nil {
		return passwordLinkFor{}, false, err
	}
	if !l.link.Live(s.now()) {
		return passwordLinkFor{}, false, nil
	}
	if l.user, err = s.store.UserByID(ctx, l.link.UserID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return passwordLinkFor{}, false, nil
		}
		return passwordLinkFor{}, false, err
	}
	if l.account, err = s.store.GetAccount(ctx, l.link.AccountID); err != nil {
		return passwordLinkFor{}, false, err
	}
	if !l.user.EmailPasswordLogin || !l.account.EmailPasswordLogin {
		return passwordLinkFor{}, false, nil
	}
	return l, true, nil
}

// organisation is how the pages name an account.
func organisation(a store.Account) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// passwordForm is the form to choose a password, with refusals when a
// submission was refused.
func (s *Server) passwordForm(k passwordLinkKind, l passwordLinkFor, refusals ...string) passwordPage {
	return passwordPage{
		Title:    k.title(l),
		Message:  k.message,
		Note:     k.note,
		Refusals: refusals,
		Form:     true,
		Rules:    s.passwords.Rules(),
		Email:    l.user.Email,
	}
}

// showPasswordLink shows the form for a live link of kind k. It changes
// nothing.
func (s *Server) showPasswordLink(k passwordLinkKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		l, found, err := s.passwordLink(c, k)
		switch {
		case err != nil:
			s.log.ErrorContext(c.Request.Context(), "look up credential link", "purpose", k.purpose, "error", err)
			s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		case !found:
			s.renderPage(c, http.StatusGone, k.gone)
		default:
			s.renderPasswordPage(c, http.StatusOK, s.passwordForm(k, l))
		}
	}
}

// setPasswordByLink sets the password the form carries, when the rules
// accept it, and uses the link of kind k up in the same transaction. A
// refusal shows the form again with the reasons and changes nothing: the
// link still works.
func (s *Server) setPasswordByLink(k passwordLinkKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.sameOrigin(c.Request) {
			s.renderPage(c, http.StatusForbidden, page{
				Title:   "Use the page from your message",
				Message: "This form did not come from flexauth's own page. Open the link in your message again and set your password there.",
			})
			return
		}
		ctx := c.Request.Context()
		l, found, err := s.passwordLink(c, k)
		if err != nil {
			s.log.ErrorContext(ctx, "look up credential link", "purpose", k.purpose, "error", err)
			s.renderPage(c, http.StatusInternalServerError, unavailablePage())
			return
		}
		if !found {
			s.renderPage(c, http.StatusGone, k.gone)
			return
		}
		if err := c.Request.ParseForm(); err != nil {
			s.renderPasswordPage(c, http.StatusBadRequest, s.passwordForm(k, l, "The form could not be read. Type your password again."))
			return
		}
		// The password is used as typed: never trimmed, cut or logged.
		plain, again := c.Request.PostForm.Get("password"), c.Request.PostForm.Get("confirm")
		switch {
		case plain == "":
			s.renderPasswordPage(c, http.StatusUnprocessableEntity, s.passwordForm(k, l, "Type a password."))
			return
		case plain != again:
			s.renderPasswordPage(c, http.StatusUnprocessableEntity, s.passwordForm(k, l, "The two passwords are not the same. Type the same password in both fields."))
			return
		}
		who := PasswordContext{Email: l.user.Email, Name: l.user.Name, Account: organisation(l.account)}
		if err := s.passwords.Check(plain, who); err != nil {
			s.renderPasswordPage(c, http.StatusUnprocessableEntity, s.passwordForm(k, l, err.Error()))
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
			AccountID: l.account.ID, Time: now, Type: k.event, AuthID: l.user.AuthID, IP: c.ClientIP(),
			Reasons: []string{k.reason},
			Detail:  map[string]any{"actor": "user:" + l.user.AuthID, "link": l.link.ID, "via": k.purpose},
		}
		set := store.PasswordByLink{
			LinkID: l.link.ID, Digest: l.digest, Purpose: k.purpose, UserID: l.user.ID, Hash: hash, At: now,
		}
		if k.notify {
			set.Notice = passwordChangedNotice(l, now, c.ClientIP())
			ev.Detail["notice"] = set.Notice.ID
		}
		err = s.store.SetPasswordByLink(ctx, set, ev)
		switch {
		case errors.Is(err, store.ErrLinkGone):
			// Used by a submission that got there first, or voided meanwhile.
			s.renderPage(c, http.StatusGone, k.gone)
		case err != nil:
			s.log.ErrorContext(ctx, "set password", "error", err)
			s.renderPage(c, http.StatusInternalServerError, unavailablePage())
		default:
			if set.Notice != nil {
				s.wakeLinkDispatcher()
			}
			s.renderPasswordPage(c, http.StatusOK, k.done(l))
		}
	}
}
