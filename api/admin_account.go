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
	ID         string `json:"id"`
	Name       string `json:"name"`
	EmailLogin bool   `json:"email_login"`
	Parent     string `json:"parent"`
}

func toAccountJSON(a store.Account) accountJSON {
	return accountJSON{ID: a.ID, Name: a.Name, EmailLogin: a.EmailLogin, Parent: a.ParentID}
}

// updateAccountRequest holds the settings an administrator may change; a
// field left out (nil) is left alone.
type updateAccountRequest struct {
	EmailLogin *bool `json:"email_login"`
}

func (s *Server) getAccount(c *gin.Context) {
	acc, err := s.store.GetAccount(c.Request.Context(), caller(c).AccountID)
	if err != nil {
		s.internalError(c, "load account", err)
		return
	}
	c.JSON(http.StatusOK, toAccountJSON(acc))
}

// updateAccount changes the account's settings. Turning email login off
// stops every link and code going by email (a sensitive change, behind
// requireFresh), so the change is audited with the old and new value.
func (s *Server) updateAccount(c *gin.Context) {
	var req updateAccountRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	// email_login is the only setting: a body without it (or with null)
	// changes nothing and is most likely a mistake.
	if req.EmailLogin == nil {
		fail(c, http.StatusBadRequest, "email_login must be true or false")
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
	to.EmailLogin = *req.EmailLogin
	if to == from {
		c.JSON(http.StatusOK, toAccountJSON(acc))
		return
	}
	ev := s.auditEvent(c, "account.updated", "", "", map[string]any{
		"email_login": map[string]any{"old": from.EmailLogin, "new": to.EmailLogin},
	})
	err = s.store.UpdateAccountSettings(ctx, acc.ID, from, to, ev)
	switch {
	case errors.Is(err, store.ErrSettingsChanged):
		fail(c, http.StatusConflict, "the account's settings changed meanwhile; reload them and try again")
		return
	case err != nil:
		s.internalError(c, "update account settings", err)
		return
	}
	acc.EmailLogin = to.EmailLogin
	c.JSON(http.StatusOK, toAccountJSON(acc))
}
