package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/store"
)

// Admin API: a user's recent attempts and their sign-ins by method.

const (
	defaultUserAttempts = 20
	maxUserAttempts     = 100
)

type userAttemptJSON struct {
	ID          string     `json:"id"`
	System      string     `json:"system"`
	State       string     `json:"state"`
	Method      string     `json:"method"`
	IP          string     `json:"ip"`
	StartedAt   time.Time  `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

func (s *Server) userAttempts(c *gin.Context) {
	limit, rerr := intParam(c, "limit", defaultUserAttempts, 1, maxUserAttempts)
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	atts, err := s.store.UserAttempts(ctx, u.AccountID, u.AuthID, limit)
	if err != nil {
		s.internalError(c, "list user attempts", err)
		return
	}
	byMethod, err := s.store.LoginsByMethod(ctx, u.AccountID, u.AuthID)
	if err != nil {
		s.internalError(c, "count logins by method", err)
		return
	}
	out := make([]userAttemptJSON, len(atts))
	for i, a := range atts {
		out[i] = userAttemptJSON{
			ID: a.ID, System: a.System, State: a.State, Method: a.Method, IP: a.IP,
			StartedAt: a.StartedAt.UTC(), CompletedAt: utcPtr(a.CompletedAt),
		}
	}
	if byMethod == nil {
		byMethod = []store.MethodLogins{}
	}
	c.JSON(http.StatusOK, gin.H{"attempts": out, "by_method": byMethod})
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
