package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// accountStore changes the account's own settings (GetAccount is in
// consoleStore).
type accountStore interface {
	UpdateAccountSettings(ctx context.Context, c store.SettingsChange) (store.SettingsOutcome, error)
}

// accountJSON is the caller's account as the admin API shows it.
type accountJSON struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	EmailDelivery bool   `json:"email_delivery"`
	// EmailLogin is EmailDelivery under its name before issue 9, answered
	// for clients written then. Deprecated.
	EmailLogin bool `json:"email_login"`
	// EmailPasswordLogin is the switch that applies: the top
	// organisation's, TopOrganisation, which alone can change it.
	EmailPasswordLogin bool   `json:"email_password_login"`
	TopOrganisation    string `json:"top_organisation"`
	Parent             string `json:"parent"`
	// CredentialsDeleted says what turning email_password_login off
	// deleted; WelcomeLinks how many welcome links turning it on
	// requested. Only in the answer of that change.
	CredentialsDeleted *store.CredentialsDeleted `json:"credentials_deleted,omitempty"`
	WelcomeLinks       *int                      `json:"welcome_links,omitempty"`
}

func toAccountJSON(a store.Account) accountJSON {
	return accountJSON{
		ID: a.ID, Name: a.Name, EmailDelivery: a.EmailDelivery, EmailLogin: a.EmailDelivery,
		EmailPasswordLogin: a.EmailPasswordLogin, TopOrganisation: a.TopID, Parent: a.ParentID,
	}
}

// updateAccountRequest holds the settings an administrator may change; a
// field left out (nil) is left alone. EmailLogin is the deprecated name of
// EmailDelivery.
type updateAccountRequest struct {
	EmailDelivery      *bool `json:"email_delivery"`
	EmailLogin         *bool `json:"email_login"`
	EmailPasswordLogin *bool `json:"email_password_login"`
	// ConfirmAffectedUsers confirms turning email_password_login off: the
	// number of users who lose their credentials, as the 409 said.
	ConfirmAffectedUsers *int `json:"confirm_affected_users"`
}

// Audit event types of the account's email and password switch beyond
// account.updated.
const (
	eventCredentialsDeleted = "account.credentials_deleted"
)

func (s *Server) getAccount(c *gin.Context) {
	acc, err := s.store.GetAccount(c.Request.Context(), caller(c).AccountID)
	if err != nil {
		s.internalError(c, "load account", err)
		return
	}
	c.JSON(http.StatusOK, toAccountJSON(acc))
}

// updateAccount changes the account's settings (behind requireFresh: each
// is sensitive). Turning email delivery off stops every link and code
// going by email; email and password sign-in is the organisation's switch
// without which no user's can be turned on. Each change is audited with
// its old and new value.
//
// Turning email and password sign-in off deletes, in the same transaction,
// the passwords, TOTP seeds and recovery codes of every user who has the
// switch on or a password, and voids the account's live welcome and reset
// links (see store.UpdateAccountSettings); it needs confirm_affected_users
// naming how many users that is whenever there is one, else 409 with
// affected_users. Users without the switch and without a password keep
// their TOTP: the app API's totp method uses it, with no password. Turning
// it on again sends a welcome link to every user whose switch is on, who
// has an email address and no password.
//
// Email and password sign-in is set by the top organisation for its whole
// tree: the effective value is the top's, the deletion and the welcome
// links cover every sub-organisation, and changing it anywhere else is a
// 409 naming the top organisation.
func (s *Server) updateAccount(c *gin.Context) {
	var req updateAccountRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	delivery := req.EmailDelivery
	switch {
	case delivery == nil:
		delivery = req.EmailLogin
	case req.EmailLogin != nil && *req.EmailLogin != *delivery:
		fail(c, http.StatusBadRequest, "email_login is the deprecated name of email_delivery: send email_delivery only")
		return
	}
	// A body without any setting (or with nulls) changes nothing and is
	// most likely a mistake.
	if delivery == nil && req.EmailPasswordLogin == nil {
		fail(c, http.StatusBadRequest, "send a setting: email_delivery or email_password_login, true or false")
		return
	}
	if n := req.ConfirmAffectedUsers; n != nil && (*n < 0 || req.EmailPasswordLogin == nil || *req.EmailPasswordLogin) {
		fail(c, http.StatusBadRequest, "confirm_affected_users confirms turning email_password_login off: send it with email_password_login false, as a count of users")
		return
	}
	ctx := c.Request.Context()
	acc, err := s.store.GetAccount(ctx, caller(c).AccountID)
	if err != nil {
		s.internalError(c, "load account", err)
		return
	}
	from := acc.Settings()
	to := from
	if delivery != nil {
		to.EmailDelivery = *delivery
	}
	if req.EmailPasswordLogin != nil {
		to.EmailPasswordLogin = *req.EmailPasswordLogin
	}
	if to == from {
		c.JSON(http.StatusOK, toAccountJSON(acc))
		return
	}
	detail := map[string]any{}
	if to.EmailDelivery != from.EmailDelivery {
		detail["email_delivery"] = map[string]any{"old": from.EmailDelivery, "new": to.EmailDelivery}
	}
	if to.EmailPasswordLogin != from.EmailPasswordLogin {
		detail["email_password_login"] = map[string]any{"old": from.EmailPasswordLogin, "new": to.EmailPasswordLogin}
	}
	change := store.SettingsChange{AccountID: acc.ID, From: from, To: to, At: s.now().UTC()}
	if req.ConfirmAffectedUsers != nil {
		change.ConfirmedUsers = *req.ConfirmAffectedUsers
	}
	change.Audit = func(out store.SettingsOutcome) []store.AuditEvent {
		return s.settingsEvents(c, detail, from, to, out)
	}
	out, err := s.store.UpdateAccountSettings(ctx, change)
	var affected *store.AffectedUsersError
	var atTop *store.SetAtTopError
	switch {
	case errors.As(err, &affected):
		c.AbortWithStatusJSON(http.StatusConflict, gin.H{
			"error": fmt.Sprintf("turning email and password sign-in off deletes the passwords, authenticator apps and recovery codes of %s "+
				"(those with email and password sign-in on or a password); send confirm_affected_users: %d to confirm", countUsers(affected.Affected), affected.Affected),
			"affected_users": affected.Affected,
		})
		return
	case errors.As(err, &atTop):
		fail(c, http.StatusConflict, fmt.Sprintf("email and password sign-in is set by the top organisation %q (%s) for all its sub-organisations; change it there",
			atTop.TopID, atTop.TopName))
		return
	case errors.Is(err, store.ErrSettingsChanged):
		fail(c, http.StatusConflict, "the account's settings changed meanwhile; reload them and try again")
		return
	case err != nil:
		s.internalError(c, "update account settings", err)
		return
	}
	acc.EmailDelivery, acc.EmailPasswordLogin = to.EmailDelivery, to.EmailPasswordLogin
	answer := toAccountJSON(acc)
	switch {
	case from.EmailPasswordLogin && !to.EmailPasswordLogin:
		answer.CredentialsDeleted = &out.Deleted
	case !from.EmailPasswordLogin && to.EmailPasswordLogin:
		n := len(out.Welcomed)
		answer.WelcomeLinks = &n
		if n > 0 {
			s.wakeLinkDispatcher()
		}
	}
	c.JSON(http.StatusOK, answer)
}

// settingsEvents are the audit events of a settings change: account.updated;
// when email and password sign-in went off, account.credentials_deleted
// with the counts; when it went on, welcome.requested per user sent a
// welcome link.
func (s *Server) settingsEvents(c *gin.Context, detail map[string]any, from, to store.AccountSettings, out store.SettingsOutcome) []store.AuditEvent {
	turnedOn := !from.EmailPasswordLogin && to.EmailPasswordLogin
	if turnedOn {
		detail["welcome_links"] = len(out.Welcomed)
		if !to.EmailDelivery {
			detail["welcome_links_held"] = "email delivery is off: send them with the email login action resend once it is on"
		}
	}
	events := []store.AuditEvent{s.auditEvent(c, "account.updated", "", "", detail)}
	if from.EmailPasswordLogin && !to.EmailPasswordLogin {
		d := out.Deleted
		ev := s.auditEvent(c, eventCredentialsDeleted, "", "", map[string]any{
			"users": d.Users, "passwords": d.Passwords, "authenticators": d.Authenticators,
			"recovery_codes": d.RecoveryCodes, "links": d.Links,
		})
		ev.Reasons = []string{"email and password sign-in turned off for the account and all its sub-organisations: the passwords, authenticator apps " +
			"and recovery codes of their users with email and password sign-in on or a password are deleted, and their links voided"}
		events = append(events, ev)
	}
	for _, w := range out.Welcomed {
		ev := s.auditEvent(c, attempt.LinkEvent(store.LinkWelcome, "requested"), "", w.AuthID, map[string]any{"link": w.LinkID, "to": w.Email})
		// In the user's own organisation, where its administrators look.
		ev.AccountID = w.AccountID
		ev.Reasons = []string{admin.WelcomeAccountOn}
		events = append(events, ev)
	}
	return events
}

// countUsers says "1 user" or "n users".
func countUsers(n int) string {
	if n == 1 {
		return "1 user"
	}
	return fmt.Sprintf("%d users", n)
}
