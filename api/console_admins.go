package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/store"
)

// keepsConsoleAdmin refuses, with 409, a change that would leave the
// account without an active console administrator: u is one, and no other
// active user is assigned the console system. The account would still be
// reachable with admin API keys, but nobody could sign in to the console.
// It reports whether the change may go ahead. (Two administrators removing
// each other at the same moment can still both pass; an admin key recovers.)
func (s *Server) keepsConsoleAdmin(c *gin.Context, u store.User) bool {
	ctx := c.Request.Context()
	if _, err := s.store.ConsoleUser(ctx, u.ID, consoleSystem); errors.Is(err, store.ErrNotFound) {
		return true
	} else if err != nil {
		s.internalError(c, "check console administrator", err)
		return false
	}
	others, err := s.store.CountConsoleUsers(ctx, u.AccountID, consoleSystem, u.ID)
	if err != nil {
		s.internalError(c, "count console administrators", err)
		return false
	}
	if others == 0 {
		failf(c, http.StatusConflict, "%s is the account's last console administrator: assign the console system to another active user first", u.AuthID)
		return false
	}
	return true
}
