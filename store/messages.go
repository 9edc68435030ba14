package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/flexauth/flexauth/messages"
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

// messageLevelsSQL is MessageLevels' statement (see preparedStatements);
// its arguments: the account's ID and the system. The depth bound ends a
// hand-made cycle, as in Ancestors.
const messageLevelsSQL = `WITH RECURSIVE up(id, parent_id, depth) AS (
	SELECT id, parent_id, 0 FROM accounts WHERE id = ?
	UNION ALL
	SELECT a.id, a.parent_id, up.depth + 1 FROM accounts a JOIN up ON a.id = up.parent_id WHERE up.depth < 1000
)
SELECT m.system, m.message, m.part, m.source, up.depth
FROM message_templates m JOIN up ON m.account_id = up.id
WHERE m.system = '' OR (up.depth = 0 AND m.system = ?)
ORDER BY up.depth`

// MessageLevels returns, in one query, the overrides a delivery to
// system (or, with system "", the account's own messages) renders with,
// most specific first: the system's, the account's, then those of each
// organisation above the account, nearest first, as inherited. Empty
// levels are left out.
func (s *Store) MessageLevels(ctx context.Context, accountID, system string) ([]messages.Level, error) {
	var rows []struct {
		System  string
		Message string
		Part    string
		Source  string
		Depth   int
	}
	err := s.scanPrepared(ctx, &s.prepared.messageLevels, []any{accountID, system}, &rows)
	if err != nil {
		return nil, fmt.Errorf("load message templates: %w", err)
	}
	var levels []messages.Level
	var sys messages.Layer
	depth := -1
	for _, r := range rows {
		k := messages.Key{Message: r.Message, Part: r.Part}
		if r.System != "" {
			if sys == nil {
				sys = messages.Layer{}
			}
			sys[k] = r.Source
			continue
		}
		if r.Depth != depth || len(levels) == 0 {
			from := messages.FromAccount
			if r.Depth > 0 {
				from = messages.FromInherited
			}
			levels = append(levels, messages.Level{Layer: messages.Layer{}, Source: from})
			depth = r.Depth
		}
		levels[len(levels)-1].Layer[k] = r.Source
	}
	if sys != nil {
		levels = slices.Insert(levels, 0, messages.Level{Layer: sys, Source: messages.FromSystem})
	}
	return levels, nil
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
