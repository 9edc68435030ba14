package api_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/store"
)

func TestStats(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	ctx := context.Background()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	add := func(id, state string, started time.Time) {
		t.Helper()
		a := store.Attempt{ID: id, AccountID: deploytest.Account, System: "vpn", AuthID: "alice", WorkflowID: "wf-" + id, RunID: "run",
			State: store.AttemptPending, Method: "pin", StartedAt: started, UpdatedAt: started}
		if _, err := h.Store.InsertAttempt(ctx, &a); err != nil {
			t.Fatal(err)
		}
		if state != store.AttemptPending {
			if _, err := h.Store.PublishAttempt(ctx, id, store.AttemptUpdate{State: state, At: started.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add("t1", store.AttemptAuthenticated, today.Add(time.Minute))
	add("t2", store.AttemptAuthenticated, today.Add(2*time.Minute))
	add("t3", store.AttemptLocked, today.Add(3*time.Minute))
	add("y1", store.AttemptExpired, today.Add(-time.Hour))      // yesterday, late
	add("y2", store.AttemptCancelled, today.Add(-23*time.Hour)) // yesterday, early
	add("o1", store.AttemptDenied, today.Add(-49*time.Hour))    // three days ago: out of a 2-day range
	if err := h.Store.AppendAudit(ctx,
		store.AuditEvent{AccountID: deploytest.Account, Time: today, Type: "attempt.denied", AuthID: "alice"},
		store.AuditEvent{AccountID: deploytest.Account, Time: today, Type: "attempt.authenticated", AuthID: "alice"},
		store.AuditEvent{AccountID: deploytest.Account, Time: today, Type: "attempt.locked", AuthID: "alice"},
		store.AuditEvent{AccountID: "other", Time: today, Type: "attempt.locked", AuthID: "bob"},
	); err != nil {
		t.Fatal(err)
	}

	out := adminAs[apitest.Stats](h, http.MethodGet, "/v1/admin/stats?days=2", nil, http.StatusOK)
	days := out.Days
	if len(days) != 2 {
		t.Fatalf("days = %v", days)
	}
	y, d := days[0], days[1]
	if y.Date != today.AddDate(0, 0, -1).Format("2006-01-02") || y.Expired != 1 || y.Cancelled != 1 || y.Authenticated != 0 {
		t.Fatalf("yesterday = %v", y)
	}
	if d.Date != today.Format("2006-01-02") || d.Authenticated != 2 || d.Locked != 1 || d.Denied != 0 {
		t.Fatalf("today = %v", d)
	}
	totals := out.Totals
	if totals.Started != 5 || totals.Authenticated != 2 || totals.Denied != 0 {
		t.Fatalf("totals = %v", totals)
	}
	if out.SuccessRate != 0.4 {
		t.Fatalf("success_rate = %v, want 0.4", out.SuccessRate)
	}
	failures := out.RecentFailures
	if len(failures) != 2 || failures[0].Type != "attempt.locked" || failures[1].Type != "attempt.denied" {
		t.Fatalf("recent failures = %v", failures)
	}

	out = adminAs[apitest.Stats](h, http.MethodGet, "/v1/admin/stats", nil, http.StatusOK)
	if n := len(out.Days); n != 14 {
		t.Fatalf("default range = %d days, want 14", n)
	}
	if out.Totals.Denied != 1 {
		t.Fatalf("14-day totals = %v", out.Totals)
	}
	for _, bad := range []string{"0", "91", "x"} {
		wantError(t, h.Do(http.MethodGet, "/v1/admin/stats?days="+bad, h.AdminKey, nil), http.StatusBadRequest, "days must be")
	}
}

// TestStatsBySystem: the dashboard counts one system, or every system but
// one (the console: administrators signing in), and says so when asked for
// a system that does not exist.
func TestStatsBySystem(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	ctx := context.Background()
	for _, name := range []string{"vpn", "console", "mail"} {
		h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": name, "methods": []string{"pin"}}, http.StatusCreated)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	add := func(id, system, state string) {
		t.Helper()
		started := today.Add(time.Minute)
		a := store.Attempt{ID: id, AccountID: deploytest.Account, System: system, AuthID: "alice", WorkflowID: "wf-" + id, RunID: "run",
			State: store.AttemptPending, Method: "pin", StartedAt: started, UpdatedAt: started}
		if _, err := h.Store.InsertAttempt(ctx, &a); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Store.PublishAttempt(ctx, id, store.AttemptUpdate{State: state, At: started.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	add("v1", "vpn", store.AttemptAuthenticated)
	add("v2", "vpn", store.AttemptDenied)
	add("c1", "console", store.AttemptAuthenticated)
	add("c2", "console", store.AttemptAuthenticated)
	add("c3", "console", store.AttemptExpired)
	add("m1", "mail", store.AttemptLocked)
	if err := h.Store.AppendAudit(ctx,
		store.AuditEvent{AccountID: deploytest.Account, Time: today, Type: "attempt.denied", System: "vpn", AuthID: "alice"},
		store.AuditEvent{AccountID: deploytest.Account, Time: today, Type: "attempt.expired", System: "console", AuthID: "admin"},
		store.AuditEvent{AccountID: deploytest.Account, Time: today, Type: "attempt.locked", System: "mail", AuthID: "alice"},
	); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, query           string
		started, auth         int
		failures              []string
		failureSystemsExclude string
	}{
		{"every system, the console's included", "", 6, 3, []string{"attempt.locked", "attempt.expired", "attempt.denied"}, ""},
		{"one system", "vpn", 2, 1, []string{"attempt.denied"}, ""},
		{"the console alone", "console", 3, 2, []string{"attempt.expired"}, ""},
		{"all but the console", "!console", 3, 1, []string{"attempt.locked", "attempt.denied"}, "console"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := adminAs[apitest.Stats](h, http.MethodGet, "/v1/admin/stats?days=2&system="+url.QueryEscape(c.query), nil, http.StatusOK)
			totals := out.Totals
			if totals.Started != c.started || totals.Authenticated != c.auth {
				t.Fatalf("totals = %v, want %v started and %v authenticated", totals, c.started, c.auth)
			}
			today := out.Days[1]
			if today.Authenticated != c.auth {
				t.Fatalf("today = %v, want %v authenticated", today, c.auth)
			}
			var types []string
			for _, e := range out.RecentFailures {
				types = append(types, e.Type)
				if c.failureSystemsExclude != "" && e.System == c.failureSystemsExclude {
					t.Fatalf("recent failures %v include %s's", out.RecentFailures, c.failureSystemsExclude)
				}
			}
			if !slices.Equal(types, c.failures) {
				t.Fatalf("recent failures = %v, want %v", types, c.failures)
			}
		})
	}
	for _, c := range []struct {
		name, query string
		status      int
		want        string
	}{
		{"an unknown system", "nosuch", http.StatusNotFound, `system "nosuch" not found`},
		{"an unknown system excluded", "!nosuch", http.StatusNotFound, `system "nosuch" not found`},
		{"a lone !", "!", http.StatusBadRequest, "system must be a system's name, or ! and a name"},
		{"not a name", "a b", http.StatusBadRequest, "may hold only letters"},
		{"two !", "!!console", http.StatusBadRequest, "may hold only letters"},
	} {
		t.Run("refused: "+c.name, func(t *testing.T) {
			wantError(t, h.Do(http.MethodGet, "/v1/admin/stats?system="+url.QueryEscape(c.query), h.AdminKey, nil), c.status, c.want)
		})
	}
}
