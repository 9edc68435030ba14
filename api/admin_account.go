package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/store"
)

// accountStore changes the account's own settings (GetAccount is in
// consoleStore).
type accountStore interface {
	UpdateAccountSettings(ctx context.Context, id string, from, to store.AccountSettings, events ...store.AuditEvent) error
}

// accountJSON is the caller's account as the admin API shows it.
type accountJSON struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	EmailDelivery bool   `json:"email_delivery"`
	// EmailLogin is EmailDelivery under its name before issue 9, answered
	// for clients written then. Deprecated.
	EmailLogin         bool   `json:"email_login"`
	EmailPasswordLogin bool   `json:"email_password_login"`
	Parent             string `json:"parent"`
}

func toAccountJSON(a store.Account) accountJSON {
	return accountJSON{
		ID: a.ID, Name: a.Name, EmailDelivery: a.EmailDelivery, EmailLogin: a.EmailDelivery,
		EmailPasswordLogin: a.EmailPasswordLogin, Parent: a.ParentID,
	}
}

// updateAccountRequest holds the settings an administrator may change; a
// field left out (nil) is left alone. EmailLogin is the deprecated name of
// EmailDelivery.
type updateAccountRequest struct {
	EmailDelivery      *bool `json:"email_delivery"`
	EmailLogin         *bool `json:"email_login"`
	EmailPasswordLogin *bool `json:"email_password_login"`
}

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
// its old and new value. Turning email and password sign-in off deletes
// nothing yet: users keep their switch and password (they cannot sign in
// with it, and no switch can be turned on, while it is off).
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
	ev := s.auditEvent(c, "account.updated", "", "", detail)
	err = s.store.UpdateAccountSettings(ctx, acc.ID, from, to, ev)
	switch {
	case errors.Is(err, store.ErrSettingsChanged):
		fail(c, http.StatusConflict, "the account's settings changed meanwhile; reload them and try again")
		return
	case err != nil:
		s.internalError(c, "update account settings", err)
		return
	}
	acc.EmailDelivery, acc.EmailPasswordLogin = to.EmailDelivery, to.EmailPasswordLogin
	c.JSON(http.StatusOK, toAccountJSON(acc))
}
