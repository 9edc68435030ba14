package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// audited runs write and appends events in one transaction: an admin
// change and its audit record are stored together or not at all.
func (s *Store) audited(ctx context.Context, events []AuditEvent, write func(ctx context.Context, db bun.IDB) error) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := write(ctx, tx); err != nil {
			return err
		}
		return appendAudit(ctx, tx, events)
	})
}

// AppendAudit appends events to the audit trail.
func (s *Store) AppendAudit(ctx context.Context, events ...AuditEvent) error {
	return appendAudit(ctx, s.db, events)
}

func appendAudit(ctx context.Context, db bun.IDB, events []AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		if events[i].Reasons == nil {
			events[i].Reasons = []string{}
		}
	}
	if _, err := db.NewInsert().Model(&events).Exec(ctx); err != nil {
		return fmt.Errorf("append audit events: %w", err)
	}
	return nil
}

// AuditFilter selects audit events; empty fields match everything.
type AuditFilter struct {
	AccountID string
	// Branch widens the trail to AccountID's descendants: the events of
	// every organisation the tree now reaches from it.
	Branch    bool
	AuthID    string
	System    string
	Type      string
	AttemptID string
	Since     time.Time
	Until     time.Time
	BeforeID  int64 // paging: events older than this ID
	Limit     int
}

// ListAudit returns matching events, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	events := []AuditEvent{}
	q := inAccount(s.db.NewSelect().Model(&events), f.AccountID, f.Branch).Order("id DESC")
	if f.AuthID != "" {
		q = q.Where("authid = ?", f.AuthID)
	}
	if f.System != "" {
		q = q.Where("system = ?", f.System)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.AttemptID != "" {
		q = q.Where("attempt_id = ?", f.AttemptID)
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if err := q.Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, notFound(err, "audit events")
	}
	return events, nil
}

// LatestAuditTimes returns, for each of types, when the account's user
// authid last had an event of that type at or after since (the user's
// creation: an earlier user of the same authid is someone else). A type
// without one is absent. One query, on the index audit_events_authid.
func (s *Store) LatestAuditTimes(ctx context.Context, accountID, authid string, since time.Time, types []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(types) == 0 {
		return out, nil
	}
	var rows []struct {
		Type string `bun:"type"`
		// SQLite returns max() of a timestamp as text: read both as text.
		Last string `bun:"last"`
	}
	err := s.db.NewSelect().Model((*AuditEvent)(nil)).
		ColumnExpr("type").ColumnExpr(s.timeText("max(at)")+" AS last").
		Where("account_id = ? AND authid = ? AND type IN (?) AND at >= ?", accountID, authid, bun.List(types), since).
		GroupExpr("type").
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("latest audit events of %q: %w", authid, err)
	}
	for _, r := range rows {
		if r.Last == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, r.Last)
		if err != nil {
			return nil, fmt.Errorf("read time of the latest %s event of %q: %w", r.Type, authid, err)
		}
		out[r.Type] = t.UTC()
	}
	return out, nil
}
