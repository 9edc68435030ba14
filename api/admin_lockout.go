package api

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/store"
)

// Admin API: a user's locked factors. Wrong codes lock the factor they were
// guessed against (growing waits, then a hard lock at 100 in a row); only a
// success with that factor or an administrator ends the run.

// lockoutJSON is one factor's run of failures as the admin API shows it.
type lockoutJSON struct {
	Factor        string     `json:"factor"`
	Failures      int        `json:"failures"`
	Locked        bool       `json:"locked"`
	LockedUntil   *time.Time `json:"locked_until"`
	HardLocked    bool       `json:"hard_locked"`
	LastFailureAt time.Time  `json:"last_failure_at"`
}

// lockouts returns the user's runs of failures.
func (s *Server) lockouts(ctx context.Context, userID string) ([]lockoutJSON, error) {
	locks, err := s.store.FactorLocks(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]lockoutJSON, len(locks))
	for i, l := range locks {
		out[i] = lockoutJSON{
			Factor: l.Factor, Failures: l.Failures, Locked: l.Locked(now), LockedUntil: l.LockedUntil,
			HardLocked: l.HardLocked, LastFailureAt: l.LastFailureAt.UTC(),
		}
	}
	return out, nil
}

// guessableFactors are the factors a lock-out can be cleared for.
var guessableFactors = []string{store.FactorPIN, store.FactorTOTP, store.FactorRecovery, store.FactorSSO}

// clearLockout ends the user's runs of failures: every factor's, or the one
// named by ?factor=. It is a sensitive change (fresh sign-in): clearing a
// lock lets guessing go on.
func (s *Server) clearLockout(c *gin.Context) {
	var factors []string
	if f := c.Query("factor"); f != "" {
		if !slices.Contains(guessableFactors, f) {
			failf(c, http.StatusBadRequest, "factor must be one of %v", guessableFactors)
			return
		}
		factors = []string{f}
	}
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	before, err := s.lockouts(ctx, u.ID)
	if err != nil {
		s.internalError(c, "load lock-outs", err)
		return
	}
	cleared := []lockoutJSON{}
	for _, l := range before {
		if len(factors) == 0 || slices.Contains(factors, l.Factor) {
			cleared = append(cleared, l)
		}
	}
	ev := s.auditEvent(c, "user.lockout_cleared", "", u.AuthID, map[string]any{"cleared": cleared})
	if _, err := s.store.ClearFactorLocks(ctx, u.ID, factors, ev); err != nil {
		s.internalError(c, "clear lock-outs", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"cleared": cleared})
}
