package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/store"
)

// consoleAdminRule keeps an account's last console administrator
// (admin.ConsoleAdmins).
type consoleAdminRule interface {
	Keeps(ctx context.Context, u store.User) error
}

var _ consoleAdminRule = (*admin.ConsoleAdmins)(nil)

// keepsConsoleAdmin refuses, with 409, a change that would leave the
// account without an active console administrator: u is one, and no other
// active user is assigned the console system. It reports whether the change
// may go ahead. It answers before the change's other checks; the store
// refuses again inside the change's transaction (lastConsoleAdminError),
// where two administrators removing each other at once cannot both pass.
func (s *Server) keepsConsoleAdmin(c *gin.Context, u store.User) bool {
	err := s.consoleAdmins.Keeps(c.Request.Context(), u)
	if rerr, ok := lastConsoleAdminError(err, u.AuthID); ok {
		respondError(c, rerr)
		return false
	}
	if err != nil {
		s.internalError(c, "check console administrators", err)
		return false
	}
	return true
}

// lastConsoleAdminError maps the refusal to take authid, the account's last
// console administrator, away to its 409.
func lastConsoleAdminError(err error, authid string) (*requestError, bool) {
	if !errors.Is(err, store.ErrLastConsoleAdmin) {
		return nil, false
	}
	return &requestError{status: http.StatusConflict, msg: (&admin.LastConsoleAdminError{AuthID: authid}).Error()}, true
}
