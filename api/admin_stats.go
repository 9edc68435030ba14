package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// Admin API: the console's dashboard — attempts per UTC day and state, and
// the latest failures.

const (
	defaultStatsDays = 14
	maxStatsDays     = 90
	recentFailures   = 10
)

// failureEvents are the audit events the dashboard lists as failures.
var failureEvents = []string{attempt.EventDenied, attempt.EventLocked, attempt.EventRejected, attempt.EventExpired}

// stateCounts is the attempts of a day (or all days) by state.
type stateCounts struct {
	Date          string `json:"date,omitempty"`
	Authenticated int    `json:"authenticated"`
	Expired       int    `json:"expired"`
	Denied        int    `json:"denied"`
	Locked        int    `json:"locked"`
	Cancelled     int    `json:"cancelled"`
	Pending       int    `json:"pending"`
	Started       *int   `json:"started,omitempty"`
}

func (sc *stateCounts) add(state string, n int) {
	switch state {
	case store.AttemptAuthenticated:
		sc.Authenticated += n
	case store.AttemptExpired:
		sc.Expired += n
	case store.AttemptDenied:
		sc.Denied += n
	case store.AttemptLocked:
		sc.Locked += n
	case store.AttemptCancelled:
		sc.Cancelled += n
	case store.AttemptPending:
		sc.Pending += n
	}
}

// statsSystemFilter reads the stats' system parameter: absent or empty for
// every system, a system's name for that system alone, "!" and a name for
// every system but that one (e.g. "!console": the applications' attempts
// without the administrators' own console sign-ins). The system must
// exist: a misspelt name would otherwise count nothing and look like a
// quiet fortnight. With ?branch=true the report covers the whole branch,
// and the name must be a system of one of its organisations: it then
// stands for the systems of that name across the branch.
func (s *Server) statsSystemFilter(c *gin.Context) (store.SystemFilter, bool) {
	branch, ok := branchParam(c)
	if !ok {
		return store.SystemFilter{}, false
	}
	raw := c.Query("system")
	if raw == "" {
		return store.SystemFilter{Branch: branch}, true
	}
	f := store.SystemFilter{Name: raw, Branch: branch}
	if name, ok := strings.CutPrefix(raw, "!"); ok {
		f = store.SystemFilter{Name: name, Exclude: true, Branch: branch}
	}
	if rerr := validSystemName(f.Name); rerr != nil {
		failf(c, http.StatusBadRequest, "system must be a system's name, or ! and a name for every system but that one: %s", rerr.msg)
		return f, false
	}
	exists, err := s.systemNamed(c, f)
	if err != nil {
		s.internalError(c, "load system", err)
		return f, false
	}
	if !exists {
		failf(c, http.StatusNotFound, "system %q not found", f.Name)
		return f, false
	}
	return f, true
}

// systemNamed reports whether the scoped organisation (or, with
// f.Branch, one of its branch) has a system called f.Name.
func (s *Server) systemNamed(c *gin.Context, f store.SystemFilter) (bool, error) {
	ctx, account := c.Request.Context(), caller(c).AccountID
	if f.Branch {
		return s.store.HasSystemInBranch(ctx, account, f.Name)
	}
	_, err := s.store.GetSystem(ctx, account, f.Name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *Server) stats(c *gin.Context) {
	days, rerr := intParam(c, "days", defaultStatsDays, 1, maxStatsDays)
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	filter, ok := s.statsSystemFilter(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	accountID := caller(c).AccountID
	today := s.now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	rows, err := s.store.AttemptsByDay(ctx, accountID, first, filter)
	if err != nil {
		s.internalError(c, "count attempts by day", err)
		return
	}
	out := make([]stateCounts, days)
	index := make(map[string]int, days)
	for i := range out {
		out[i].Date = first.AddDate(0, 0, i).Format(time.DateOnly)
		index[out[i].Date] = i
	}
	var totals stateCounts
	started := 0
	for _, r := range rows {
		i, ok := index[r.Day]
		if !ok {
			continue // started after today by the API's clock
		}
		out[i].add(r.State, r.Count)
		totals.add(r.State, r.Count)
		started += r.Count
	}
	totals.Started = &started
	failures, err := s.store.RecentAuditOfTypes(ctx, accountID, failureEvents, filter, recentFailures)
	if err != nil {
		s.internalError(c, "list recent failures", err)
		return
	}
	rate := 0.0
	if started > 0 {
		rate = float64(totals.Authenticated) / float64(started)
	}
	c.JSON(http.StatusOK, gin.H{"days": out, "totals": totals, "success_rate": rate, "recent_failures": failures})
}
