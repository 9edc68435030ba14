package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/flexauth/flexauth/attempt"
)

// startCountSchema counts each account's application starts per second.
// The account-wide start limit reads it (AttemptCount.FromCounter): the
// sum of a minute's buckets is at most 60 index rows, where counting the
// minute's attempts read every one of them, a cost that grew with the
// traffic the limit is there to bound (pg_stat_statements: a quarter of
// PostgreSQL's time per sign-in at 70 sign-ins/s). Rows older than
// startCountHorizon are deleted as new seconds begin; no foreign key, so
// that counting costs one index write and nothing else.
const startCountSchema = `
CREATE TABLE start_counts (
	account_id text NOT NULL,
	second bigint NOT NULL,
	n integer NOT NULL,
	PRIMARY KEY (account_id, second)
)
`

// startCountHorizon is how long a second's count is kept: twice the
// account limit's window of a minute.
const startCountHorizon = 2 * time.Minute

// countStart adds a new attempt of a to its account's count for the
// second at, within tx. It is the transaction's last write, so that the
// account's row of that second stays locked only until the commit: the
// account's starts do not queue behind each other's policy decisions.
// The first start of a second also deletes the account's counts past the
// horizon.
func countStart(ctx context.Context, tx bun.IDB, a *Attempt, at time.Time) error {
	if attempt.Anonymous(a.System) {
		// The console's and the security settings' sign-ins have limits
		// of their own.
		return nil
	}
	second := at.Unix()
	var n int
	err := tx.NewRaw(`INSERT INTO start_counts (account_id, second, n) VALUES (?, ?, 1)
ON CONFLICT (account_id, second) DO UPDATE SET n = start_counts.n + 1
RETURNING n`, a.AccountID, second).Scan(ctx, &n)
	if err != nil {
		return fmt.Errorf("count the start: %w", err)
	}
	if n > 1 {
		return nil
	}
	_, err = tx.NewDelete().TableExpr("start_counts").
		Where("account_id = ? AND second < ?", a.AccountID, at.Add(-startCountHorizon).Unix()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete old start counts: %w", err)
	}
	return nil
}

// startCount selects the sum of f.AccountID's counted starts from
// f.Since on.
func (s *Store) startCount(f AttemptCount) *bun.SelectQuery {
	return s.db.NewSelect().TableExpr("start_counts").ColumnExpr("coalesce(sum(n), 0)").
		Where("account_id = ? AND second >= ?", f.AccountID, f.Since.Unix())
}
