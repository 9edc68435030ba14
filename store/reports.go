package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Read-only queries behind the console's dashboard and user pages.

// DayStateCount is how many attempts started on Day (UTC, "2006-01-02")
// are now in State.
type DayStateCount struct {
	Day   string `bun:"day"`
	State string `bun:"state"`
	Count int    `bun:"n"`
}

// SystemFilter narrows a report to one system (Name), or to every system
// but one (Name and Exclude: e.g. all but the console, whose attempts are
// administrators signing in). The zero value keeps every system of the
// account alone; Branch widens a report to the account's descendants,
// where Name matches the systems of that name of every organisation.
type SystemFilter struct {
	Name    string
	Exclude bool
	Branch  bool
}

// where adds the filter to q, on q's system column.
func (f SystemFilter) where(q *bun.SelectQuery) *bun.SelectQuery {
	switch {
	case f.Name == "":
		return q
	case f.Exclude:
		return q.Where("system <> ?", f.Name)
	default:
		return q.Where("system = ?", f.Name)
	}
}

// AttemptsByDay counts the account's (or with f.Branch its branch's) attempts started at or after since
// on the systems f keeps, by UTC day of start and current state.
func (s *Store) AttemptsByDay(ctx context.Context, accountID string, since time.Time, f SystemFilter) ([]DayStateCount, error) {
	// The day is computed by the database: rows never leave it one by one.
	day := "strftime('%Y-%m-%d', started_at)"
	if s.postgres {
		day = "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	out := []DayStateCount{}
	q := s.db.NewSelect().Model((*Attempt)(nil)).
		ColumnExpr(day+" AS day").ColumnExpr("state").ColumnExpr("count(*) AS n").
		Where("started_at >= ?", since.UTC())
	q = inAccount(q, accountID, f.Branch)
	err := f.where(q).GroupExpr("day, state").Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("count attempts by day: %w", err)
	}
	return out, nil
}

// RecentAuditOfTypes returns the account's (or with f.Branch its
// branch's) last limit events of the given
// types on the systems f keeps, newest first.
func (s *Store) RecentAuditOfTypes(ctx context.Context, accountID string, types []string, f SystemFilter, limit int) ([]AuditEvent, error) {
	events := []AuditEvent{}
	q := inAccount(s.db.NewSelect().Model(&events), accountID, f.Branch).
		Where("type IN (?)", bun.List(types))
	err := f.where(q).Order("id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list recent audit events: %w", err)
	}
	return events, nil
}

// HasSystemInBranch reports whether an organisation of the branch rooted
// at rootID has a system called name: the check behind a branch report
// narrowed to one system name.
func (s *Store) HasSystemInBranch(ctx context.Context, rootID, name string) (bool, error) {
	ok, err := inAccount(s.db.NewSelect().Model((*System)(nil)), rootID, true).Where("name = ?", name).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("look up system %q in the branch of %s: %w", name, rootID, err)
	}
	return ok, nil
}

// UserAttempts returns a user's last limit attempts, newest first.
func (s *Store) UserAttempts(ctx context.Context, accountID, authid string, limit int) ([]Attempt, error) {
	out := []Attempt{}
	err := s.db.NewSelect().Model(&out).
		Where("account_id = ? AND authid = ?", accountID, authid).
		Order("started_at DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list attempts of %q: %w", authid, err)
	}
	return out, nil
}

// MethodLogins is how often a user signed in with a method, when last and
// from which address.
type MethodLogins struct {
	Method      string     `bun:"method" json:"method"`
	Logins      int        `bun:"logins" json:"logins"`
	LastLoginAt *time.Time `bun:"last_login_at" json:"last_login_at"`
	LastIP      string     `bun:"last_ip" json:"last_ip"`
}

// LoginsByMethod counts a user's successful attempts per method, with the
// time and address of the latest, ordered by method. One query, answered
// from the partial index attempts_user_logins alone on PostgreSQL (see
// migrate_signin_methods.go): a window numbers each method's sign-ins,
// newest first, and counts them; the newest row of each method is kept.
func (s *Store) LoginsByMethod(ctx context.Context, accountID, authid string) ([]MethodLogins, error) {
	var rows []struct {
		Method string `bun:"method"`
		Logins int    `bun:"logins"`
		// SQLite returns a timestamp through a subquery as text; read it as
		// such and parse it below, the same way for both databases.
		Last   string `bun:"last_login_at"`
		LastIP string `bun:"last_ip"`
	}
	err := s.db.NewSelect().TableExpr("(?) AS latest", s.loginsWindow(accountID, authid)).
		ColumnExpr("method, logins, last_login_at, last_ip").
		Where("rn = 1").OrderExpr("method").
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count logins of %q by method: %w", authid, err)
	}
	out := make([]MethodLogins, len(rows))
	for i, r := range rows {
		out[i] = MethodLogins{Method: r.Method, Logins: r.Logins, LastIP: r.LastIP}
		if r.Last == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, r.Last)
		if err != nil {
			return nil, fmt.Errorf("read last login of %q: %w", authid, err)
		}
		t = t.UTC()
		out[i].LastLoginAt = &t
	}
	return out, nil
}

// loginsWindow is LoginsByMethod's inner query. The state is written as a
// literal, not a parameter, so that PostgreSQL matches it to the partial
// index's predicate in any plan.
func (s *Store) loginsWindow(accountID, authid string) *bun.SelectQuery {
	return s.db.NewSelect().Model((*Attempt)(nil)).
		ColumnExpr("method, ip AS last_ip").
		ColumnExpr(s.timeText("completed_at")+" AS last_login_at").
		ColumnExpr("count(*) OVER (PARTITION BY method) AS logins").
		ColumnExpr("row_number() OVER (PARTITION BY method ORDER BY completed_at DESC) AS rn").
		Where("account_id = ? AND authid = ?", accountID, authid).
		Where("state = '" + AttemptAuthenticated + "' AND completed_at IS NOT NULL")
}

// timeText renders a timestamp expression as RFC 3339 text in UTC.
func (s *Store) timeText(expr string) string {
	if s.postgres {
		return "coalesce(to_char(" + expr + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '')`
	}
	return "coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', " + expr + "), '')"
}

// CountUsers counts the users a filter matches, ignoring its paging.
func (s *Store) CountUsers(ctx context.Context, f UserFilter) (int, error) {
	q := inAccount(s.db.NewSelect().Model((*User)(nil)), f.AccountID, f.Branch)
	q = f.search(q)
	n, err := q.Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return int(n), nil
}
