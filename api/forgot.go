package api

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// "Forgot password?": a page flexauth hosts per account, /forgot/{account},
// where a user types their email address to be sent a reset link. Its
// answer must not tell who has an account: the POST answers the same page,
// with the same status, for a known user, an unknown address, a user
// without email and password sign-in, an unknown account, a user who had
// too many links lately. The handler does nothing that depends on the
// address: it hands the request to background work (bounded, waited for at
// shutdown) and answers at once, so its timing is the same for all.
//
// The background work looks the address up among the account's users
// (without regard to case; several users may share one) and, for each
// active user whose email and password sign-in is on (and the account's),
// requests a reset link, or a welcome link for a user who has no password
// yet: one-time, sent through the delivery plugins like the welcome link,
// voiding the user's older link of the same purpose. At most
// ResetLinksPerHour links of either purpose are sent to a user in an hour;
// beyond, nothing is sent and the audit trail says why (reset.limited).

// Audit events of a "Forgot password?" request that sends nothing.
const (
	eventResetRefused = "reset.refused" // the user may not sign in with a password
	eventResetLimited = "reset.limited" // the user had ResetLinksPerHour links in the last hour
)

// ForgotPath is where an account's "Forgot password?" page is served:
// /forgot/{account ID}.
const ForgotPath = "/forgot/"

const (
	// defaultResetLinksPerHour bounds the links "Forgot password?" sends
	// one user in an hour.
	defaultResetLinksPerHour = 3
	// maxForgotUsers bounds the users one address can reach.
	maxForgotUsers = 10
	// maxForgotWork bounds the forgot requests looked up at once, apart
	// from the console sign-in's background work so that neither starves
	// the other.
	maxForgotWork = 16
	// maxEmailLength is the longest address a mailbox can have (RFC 5321
	// path limit).
	maxEmailLength = 254
)

// forgotStore is the persistence "Forgot password?" needs beyond the
// account lookup.
type forgotStore interface {
	UsersByEmail(ctx context.Context, accountID, email string, limit int) ([]store.User, error)
	RequestLink(ctx context.Context, r store.LinkRequest, events ...store.AuditEvent) error
}

var _ forgotStore = (*store.Store)(nil)

// forgotTemplate is the form that asks for the email address. It shares
// the link pages' style (and so their CSP): no script, no other resource.
const forgotTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Forgot your password?</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1>Forgot your password?</h1>
<p>Type the email address you sign in with. If email and password sign-in is set up for it, we send it a link to choose a new password.</p>
{{if .Refusal}}<div class="refusal" id="refusal" role="alert">
<p><strong>{{.Refusal}}</strong></p>
</div>{{end}}
<form method="post">
<label for="email">Email address</label>
<input type="email" id="email" name="email" autocomplete="email" required maxlength="254" value="{{.Email}}"{{if .Refusal}} aria-invalid="true" aria-describedby="refusal" autofocus{{end}}>
<button type="submit">Send me a reset link</button>
</form>
<p>A new password does not turn off your authenticator app: signing in still asks for its code.</p>
</main>
</body>
</html>
`

// forgotPage is what forgotTemplate shows.
type forgotPage struct {
	Refusal string // why the address typed was not taken
	Email   string // the address typed, when refused
}

// forgotSent is the one answer to every well-formed request.
func forgotSent() page {
	return page{
		Title: "Check your email",
		Message: "If email and password sign-in is set up for the address you typed, a message with a link to choose a new password is on its way to it. " +
			"The link works once and for a short time. Nothing arrived after a few minutes? Check your spam folder, or ask your organisation's administrator.",
	}
}

func (s *Server) renderForgot(c *gin.Context, status int, p forgotPage) {
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := s.forgotPages.Execute(c.Writer, p); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render forgot page", "error", err)
	}
	c.Abort()
}

// showForgot shows the form. It looks nothing up: the page is the same for
// every account, known or not.
func (s *Server) showForgot(c *gin.Context) {
	s.renderForgot(c, http.StatusOK, forgotPage{})
}

// requestReset takes the address the form carries and answers the same
// page whoever it belongs to; the work is done after the answer.
func (s *Server) requestReset(c *gin.Context) {
	if !s.sameOrigin(c.Request) {
		s.renderPage(c, http.StatusForbidden, page{
			Title:   "Use the page from your organisation",
			Message: "This form did not come from flexauth's own page. Open “Forgot password?” from your sign-in page again.",
		})
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		s.renderForgot(c, http.StatusBadRequest, forgotPage{Refusal: "The form could not be read. Type your email address again."})
		return
	}
	email := strings.TrimSpace(c.Request.PostForm.Get("email"))
	if msg := checkEmail(email); msg != "" {
		s.renderForgot(c, http.StatusUnprocessableEntity, forgotPage{Refusal: msg, Email: email})
		return
	}
	accountID, ip := c.Param("account"), c.ClientIP()
	if !s.forgotWork.try(c.Request.Context(), func(ctx context.Context) { s.forgotPassword(ctx, accountID, email, ip) }) {
		// Full or shutting down: dropped, and answered as if sent. The
		// user can ask again; the log says it happened.
		s.log.WarnContext(c.Request.Context(), "forgot password request dropped: too many in flight or shutting down")
	}
	s.renderPage(c, http.StatusOK, forgotSent())
}

// checkEmail says why s cannot be an email address ("" when it can be):
// the same answer for everyone, since it depends only on what was typed.
func checkEmail(s string) string {
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case s == "":
		return "Type your email address."
	case len(s) > maxEmailLength:
		return fmt.Sprintf("An email address has at most %d characters.", maxEmailLength)
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		return "Type a whole email address, such as name@example.com."
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "An email address has no spaces."
	}
	return ""
}

// forgotPassword sends a link to each user of the account with this
// address who may have one. It runs after the answer; nothing it finds
// reaches the requester.
func (s *Server) forgotPassword(ctx context.Context, accountID, email, ip string) {
	acc, err := s.store.GetAccount(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "forgot password: load account", "error", err)
		return
	}
	if !acc.EmailPasswordLogin || !acc.EmailDelivery {
		return
	}
	users, err := s.store.UsersByEmail(ctx, acc.ID, email, maxForgotUsers)
	if err != nil {
		s.log.ErrorContext(ctx, "forgot password: look the address up", "error", err)
		return
	}
	sent := false
	for _, u := range users {
		if s.forgotUser(ctx, acc, u, ip) {
			sent = true
		}
	}
	if sent {
		s.wakeLinkDispatcher()
	}
}

// forgotUser requests the user's link, unless they may not have one or
// had too many lately (audited either way); true when a link was
// requested.
func (s *Server) forgotUser(ctx context.Context, acc store.Account, u store.User, ip string) bool {
	now := s.now().UTC()
	purpose := store.LinkReset
	if u.PasswordHash == "" {
		purpose = store.LinkWelcome
	}
	// A request is reset.requested, or welcome.requested for a user who
	// has no password yet, as the link's delivery events; one that sends
	// nothing is reset.refused or reset.limited whoever it is for.
	event := func(typ string, reasons ...string) store.AuditEvent {
		return store.AuditEvent{
			AccountID: acc.ID, Time: now, Type: typ, AuthID: u.AuthID, IP: ip, Reasons: reasons,
			Detail: map[string]any{"actor": "anonymous", "source": "forgot", "to": u.Email},
		}
	}
	audit := func(ev store.AuditEvent) {
		if err := s.store.AppendAudit(ctx, ev); err != nil {
			s.log.ErrorContext(ctx, "forgot password: audit", "error", err)
		}
	}
	switch {
	case !u.EmailPasswordLogin:
		audit(event(eventResetRefused, "asked for with “Forgot password?”, but email and password sign-in is off for the user: nothing sent"))
		return false
	case u.Status != store.UserActive:
		audit(event(eventResetRefused, "asked for with “Forgot password?”, but the user is disabled: nothing sent"))
		return false
	}
	link := store.CredentialLink{ID: uuid.NewString(), AccountID: acc.ID, UserID: u.ID, Purpose: purpose, CreatedAt: now}
	ev := event(attempt.LinkEvent(purpose, "requested"), "asked for with “Forgot password?” on the sign-in page")
	ev.Detail["link"] = link.ID
	err := s.store.RequestLink(ctx, store.LinkRequest{Link: link, Since: now.Add(-time.Hour), Max: s.cfg.ResetLinksPerHour}, ev)
	switch {
	case errors.Is(err, store.ErrLinkLimit):
		audit(event(eventResetLimited, fmt.Sprintf("asked for with “Forgot password?”, but %d links were sent to the user in the last hour already: nothing sent", s.cfg.ResetLinksPerHour)))
		return false
	case errors.Is(err, store.ErrPasswordLoginOff):
		return false // turned off meanwhile
	case err != nil:
		s.log.ErrorContext(ctx, "forgot password: request link", "error", err)
		return false
	}
	return true
}

// newForgotPages parses forgotTemplate.
func newForgotPages() *template.Template {
	return template.Must(template.New("forgot").Parse(forgotTemplate))
}
