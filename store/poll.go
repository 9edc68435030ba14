package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/uptrace/bun"
)

// AttemptPoll names the attempt a poll of check asks about: the subject's
// latest, or the one with ID when it is the subject's.
type AttemptPoll struct {
	System, AuthID string
	ID             string // "" for the subject's latest
}

// The poll's columns: the whole key but its hash and revoked_at (the one
// asked for, and NULL), and the attempt's columns that answer a check. The
// attempt's sealed secrets and digests are left in the database.
const pollColumns = `SELECT k.id, k.account_id, k.name, k.scope, k.created_at, k.last_used_at,
 a.id, a.workflow_id, a.run_id, a.state, a.method, a.step,
 a.started_at, a.expires_at, a.completed_at, a.updated_at
FROM api_keys AS k
`

// The poll's two statements, with ? for their arguments in the order
// pollArgs gives them.
const (
	// The subject's latest attempt, by the attempts_subject index.
	pollLatestSQL = pollColumns + `LEFT JOIN attempts AS a ON a.id = (
 SELECT l.id FROM attempts AS l
 WHERE l.account_id = k.account_id AND l.system = ? AND l.authid = ?
 ORDER BY l.started_at DESC LIMIT 1)
WHERE k.hash = ? AND k.revoked_at IS NULL`
	pollNamedSQL = pollColumns + `LEFT JOIN attempts AS a
 ON a.id = ? AND a.account_id = k.account_id AND a.system = ? AND a.authid = ?
WHERE k.hash = ? AND k.revoked_at IS NULL`
)

// Poll resolves a poll in one query: the live (unrevoked) API key whose
// digest is keyHash and the attempt p names in the key's account.
// ErrNotFound when there is no such key; found is false when the key is
// there but the attempt is not (another account's, system's or user's
// attempt is not there either).
//
// The key comes whole. The attempt has what a check answers from: its
// ID, subject, workflow and run, state, method, step and times, but not
// its challenge, sealed sign-on, digests, IP or user agent.
func (s *Store) Poll(ctx context.Context, keyHash string, p AttemptPoll) (key APIKey, att Attempt, found bool, err error) {
	st, args := &s.prepared.pollLatest, []any{p.System, p.AuthID, keyHash}
	if p.ID != "" {
		st, args = &s.prepared.pollNamed, []any{p.ID, p.System, p.AuthID, keyHash}
	}
	row := pollRow{key: &key, att: &att}
	err = s.scanPrepared(ctx, st, args, &row)
	if err == nil && row.n == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return APIKey{}, Attempt{}, false, notFound(err, "api key")
	}
	key.Hash = keyHash
	if !row.found {
		return key, Attempt{}, false, nil
	}
	att.AccountID, att.System, att.AuthID = key.AccountID, p.System, p.AuthID
	return key, att, true, nil
}

// pollRow is a bun.Model that scans the poll's row with database/sql
// alone: a fixed list of columns needs no reflection.
type pollRow struct {
	key   *APIKey
	att   *Attempt
	found bool
	n     int
}

func (r *pollRow) Value() any { return r }

func (r *pollRow) ScanRows(_ context.Context, rows *sql.Rows) (int, error) {
	var (
		keyCreated, started, updated           bun.NullTime
		keyUsed, expires, completed            nullTime
		id, workflow, run, state, method, step sql.NullString
	)
	for rows.Next() {
		r.n++
		if r.n > 1 {
			continue // api_keys.hash is unique; never more than one row
		}
		k := r.key
		if err := rows.Scan(&k.ID, &k.AccountID, &k.Name, &k.Scope, &keyCreated, &keyUsed,
			&id, &workflow, &run, &state, &method, &step,
			&started, &expires, &completed, &updated); err != nil {
			return 0, err
		}
		k.CreatedAt, k.LastUsedAt = keyCreated.Time, keyUsed.ptr()
		r.found = id.Valid
		if r.found {
			*r.att = Attempt{
				ID: id.String, WorkflowID: workflow.String, RunID: run.String,
				State: state.String, Method: method.String, Step: step.String,
				StartedAt: started.Time, ExpiresAt: expires.ptr(),
				CompletedAt: completed.ptr(), UpdatedAt: updated.Time,
			}
		}
	}
	return r.n, rows.Err()
}

// nullTime scans a nullable time as bun scans a *time.Time: nil for NULL,
// and PostgreSQL's times or SQLite's texts alike.
type nullTime struct {
	valid bool
	t     bun.NullTime
}

func (n *nullTime) Scan(src any) error {
	n.valid = src != nil
	return n.t.Scan(src)
}

func (n *nullTime) ptr() *time.Time {
	if !n.valid {
		return nil
	}
	t := n.t.Time
	return &t
}
