package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// MessageTemplate is one override of a message's part (or a brand field)
// set by an account (System "") or one of its systems. The store keeps
// what package messages validated; it knows nothing of templates.
type MessageTemplate struct {
	bun.BaseModel `bun:"table:message_templates"`

	AccountID string    `bun:"account_id,pk"`
	System    string    `bun:"system,pk"`
	Message   string    `bun:"message,pk"`
	Part      string    `bun:"part,pk"`
	Source    string    `bun:"source,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// MessageTemplates returns the account's own overrides and, when system is
// not "", that system's, in one query: what a delivery to the system
// renders with.
func (s *Store) MessageTemplates(ctx context.Context, accountID, system string) ([]MessageTemplate, error) {
	rows := []MessageTemplate{}
	err := s.db.NewSelect().Model(&rows).
		Where("account_id = ? AND system IN (?)", accountID, bun.In([]string{"", system})).
		Order("system", "message", "part").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("load message templates: %w", err)
	}
	return rows, nil
}

// SetMessageTemplates stores overrides of one level (each row's
// AccountID and System), replacing those of the same message and part,
// with their audit events, all or nothing.
func (s *Store) SetMessageTemplates(ctx context.Context, rows []MessageTemplate, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		if len(rows) == 0 {
			return nil
		}
		_, err := db.NewInsert().Model(&rows).
			On("CONFLICT (account_id, system, message, part) DO UPDATE").
			Set("source = EXCLUDED.source, updated_at = EXCLUDED.updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("store message templates: %w", err)
		}
		return nil
	})
}

// DeleteMessageTemplate removes one override, so that the level above
// (or the built-in template) applies again; it reports whether there was
// one, and audits only then.
func (s *Store) DeleteMessageTemplate(ctx context.Context, accountID, system, message, part string, events ...AuditEvent) (bool, error) {
	var deleted bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*MessageTemplate)(nil)).
			Where("account_id = ? AND system = ? AND message = ? AND part = ?", accountID, system, message, part).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete message template: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("delete message template: %w", err)
		}
		if deleted = n > 0; !deleted {
			return nil
		}
		return appendAudit(ctx, tx, events)
	})
	return deleted, err
}
