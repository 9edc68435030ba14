package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Effect records that one side effect of an attempt happened, with the
// answer it gave. Temporal may run a local activity again after its first
// run took effect (a worker crash, or a speculative workflow task dropped
// under concurrent updates); the activity finds its effect here and answers
// as the first time instead of applying it twice.
type Effect struct {
	bun.BaseModel `bun:"table:attempt_effects"`

	AttemptID string    `bun:"attempt_id,pk"`
	Key       string    `bun:"effect,pk"`
	Result    string    `bun:"result,notnull"` // JSON
	At        time.Time `bun:"at,notnull"`
}

// LoadEffect fills result with the answer of an effect already applied and
// reports whether there was one.
func (s *Store) LoadEffect(ctx context.Context, attemptID, key string, result any) (bool, error) {
	return s.loadEffect(ctx, attemptID, key, result)
}

func (s *Store) loadEffect(ctx context.Context, attemptID, key string, result any) (bool, error) {
	var e Effect
	err := s.scanPrepared(ctx, &s.prepared.effect, []any{attemptID, key}, &e)
	if err != nil {
		if errors.Is(notFound(err, "effect"), ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("load effect %s of attempt %s: %w", key, attemptID, err)
	}
	if err := json.Unmarshal([]byte(e.Result), result); err != nil {
		return false, fmt.Errorf("decode effect %s of attempt %s: %w", key, attemptID, err)
	}
	return true, nil
}

// effectSQL is loadEffect's statement (see preparedStatements), with ? for
// the attempt's ID and the effect's key.
func effectSQL(db *bun.DB) string {
	return db.NewSelect().Model((*Effect)(nil)).Where("attempt_id = ? AND effect = ?", bun.Safe("?"), bun.Safe("?")).String()
}

// saveEffect records an effect in the transaction that applies it. Two runs
// racing to apply the same effect conflict here: one commits, the other
// rolls back and, retried, finds the effect.
func saveEffect(ctx context.Context, db bun.IDB, attemptID, key string, result any, at time.Time) error {
	raw, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode effect %s: %w", key, err)
	}
	e := Effect{AttemptID: attemptID, Key: key, Result: string(raw), At: at}
	if _, err := db.NewInsert().Model(&e).Exec(ctx); err != nil {
		return conflict(err, "effect "+key+" of attempt "+attemptID)
	}
	return nil
}
