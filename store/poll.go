package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// pollStatements are the poll's statements, prepared once per Store and,
// by database/sql, once per pooled connection: applications poll every
// few seconds for every waiting user, and a fixed text with bind
// parameters spares PostgreSQL parsing and planning a new query each time
// (bun would inline the values into the text).
//
// They are prepared on first use, not at Open, because Open comes before
// Migrate creates the tables.
type pollStatements struct {
	latest, named pollStatement
}

type pollStatement struct {
	text string // in the dialect's placeholders
	mu   sync.Mutex
	stmt atomic.Pointer[sql.Stmt]
}

func newPollStatements(postgres bool) *pollStatements {
	p := &pollStatements{}
	p.latest.text = placeholders(pollLatestSQL, postgres)
	p.named.text = placeholders(pollNamedSQL, postgres)
	return p
}

// placeholders numbers the ?s of query $1, $2, … for PostgreSQL; SQLite
// takes them as they are. The poll's SQL has no other ?.
func placeholders(query string, postgres bool) string {
	if !postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(query, '?')
		if i < 0 {
			b.WriteString(query)
			return b.String()
		}
		n++
		b.WriteString(query[:i])
		b.WriteString("$" + strconv.Itoa(n))
		query = query[i+1:]
	}
}

// prepared returns the statement, preparing it on first use. A failed
// preparation is tried again by the next poll.
func (p *pollStatement) prepared(ctx context.Context, db *sql.DB) (*sql.Stmt, error) {
	if stmt := p.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if stmt := p.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	stmt, err := db.PrepareContext(ctx, p.text)
	if err != nil {
		return nil, fmt.Errorf("prepare the poll: %w", err)
	}
	p.stmt.Store(stmt)
	return stmt, nil
}

func (p *pollStatements) close() error {
	var errs []error
	for _, s := range []*pollStatement{&p.latest, &p.named} {
		if stmt := s.stmt.Swap(nil); stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

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
	st, args := &s.poll.latest, []any{p.System, p.AuthID, keyHash}
	if p.ID != "" {
		st, args = &s.poll.named, []any{p.ID, p.System, p.AuthID, keyHash}
	}
	stmt, err := st.prepared(ctx, s.root.DB)
	if err != nil {
		return APIKey{}, Attempt{}, false, err
	}
	if tx, ok := s.db.(bun.Tx); ok {
		// Within the Store's transaction, on its connection.
		stmt = tx.StmtContext(ctx, stmt)
		defer stmt.Close()
	}
	// Run through bun so that its query hooks (tracing, statement counts)
	// see the poll like any other statement; preparedConn hands it to the
	// prepared statement with the arguments.
	row := pollRow{key: &key, att: &att}
	err = s.db.NewRaw(st.text).Conn(preparedConn{stmt: stmt, text: st.text, args: args}).Scan(ctx, &row)
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

// preparedConn is a bun.IConn that runs its prepared statement with its
// arguments: bun hands it the query text it formatted, which is the
// statement's own (it has no bun placeholders to fill).
type preparedConn struct {
	stmt *sql.Stmt
	text string
	args []any
}

var _ bun.IConn = preparedConn{}

var errNotThePoll = errors.New("store: a prepared statement was asked to run another query")

func (c preparedConn) QueryContext(ctx context.Context, query string, _ ...any) (*sql.Rows, error) {
	if query != c.text {
		return nil, errNotThePoll
	}
	return c.stmt.QueryContext(ctx, c.args...)
}

func (c preparedConn) ExecContext(ctx context.Context, query string, _ ...any) (sql.Result, error) {
	if query != c.text {
		return nil, errNotThePoll
	}
	return c.stmt.ExecContext(ctx, c.args...)
}

// QueryRowContext completes bun.IConn; bun scans with QueryContext.
func (c preparedConn) QueryRowContext(ctx context.Context, _ string, _ ...any) *sql.Row {
	return c.stmt.QueryRowContext(ctx, c.args...)
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
