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

// preparedStatements are the statements every sign-in or poll runs,
// prepared once per Store and, by database/sql, once per pooled
// connection. bun inlines a query's values into its text, so PostgreSQL
// would parse and plan each one anew: for these, a fixed text with bind
// parameters is parsed and planned once per connection. (Measured with
// pgbench on GetSignInUser's query: about a fifth of the server's time
// per call prepared; bench/topology's "postgres by database" shows
// flexauth's share of PostgreSQL's CPU per sign-in.)
//
// They are prepared on first use, not at Open, because Open comes before
// Migrate creates the tables.
type preparedStatements struct {
	// The check poll's: the subject's latest attempt, or the one named.
	pollLatest, pollNamed preparedStatement
	// GetSignInUser's: the start and its delivery each read the user.
	signInUser preparedStatement
	// What a start reads besides: the application's key, the system, the
	// account, its policy, the user's factor locks; and what a delivery
	// reads: the message templates.
	apiKey, system, account, policy, factorLocks, messageLevels preparedStatement
	// What a begin and a code check read in their transactions: the
	// subject's other attempts, an effect already applied.
	otherAttempts, effect preparedStatement
	all                   []*preparedStatement

	// aside counts the preparations prepareAside runs in the background,
	// and stop ends them: close waits for them before closing the
	// statements (a SQLite connection opened after the Store closed would
	// write its files after the caller removed them). mu orders a start
	// of one before close's wait.
	mu     sync.Mutex
	closed bool
	aside  sync.WaitGroup
	stop   context.Context
	end    context.CancelFunc
}

// preparedStatement is one statement's text, in the dialect's
// placeholders, and its *sql.Stmt once prepared.
type preparedStatement struct {
	name string
	raw  string // with ? for the arguments, as bun formats them
	text string // in the dialect's placeholders
	mu   sync.Mutex
	stmt atomic.Pointer[sql.Stmt]
	// preparing is set while prepareAside prepares the statement.
	preparing atomic.Bool
}

func newPreparedStatements(db *bun.DB, postgres bool) *preparedStatements {
	p := &preparedStatements{}
	p.stop, p.end = context.WithCancel(context.Background())
	for _, st := range []struct {
		s          *preparedStatement
		name, text string
	}{
		{&p.pollLatest, "the poll", pollLatestSQL},
		{&p.pollNamed, "the poll", pollNamedSQL},
		{&p.signInUser, "the sign-in user", signInUserSQL(db)},
		{&p.apiKey, "the api key", apiKeyByHashSQL(db)},
		{&p.system, "the system", systemSQL(db)},
		{&p.account, "the account", accountSQL},
		{&p.policy, "the effective policy", effectivePolicySQL},
		{&p.factorLocks, "the factor locks", factorLocksSQL(db)},
		{&p.messageLevels, "the message templates", messageLevelsSQL},
		{&p.otherAttempts, "the subject's other attempts", otherAttemptsSQL(db)},
		{&p.effect, "the effect", effectSQL(db)},
	} {
		st.s.name, st.s.raw, st.s.text = st.name, st.text, placeholders(st.text, postgres)
		p.all = append(p.all, st.s)
	}
	return p
}

// placeholders numbers the ?s of query $1, $2, … for PostgreSQL; SQLite
// takes them as they are. The statements' SQL has no other ?.
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
// preparation is tried again by the next call.
func (p *preparedStatement) prepared(ctx context.Context, db *sql.DB) (*sql.Stmt, error) {
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
		return nil, fmt.Errorf("prepare %s: %w", p.name, err)
	}
	p.stmt.Store(stmt)
	return stmt, nil
}

// prepareAside prepares st in the background, unless it is
// prepared or being prepared: preparing takes a connection from the pool,
// which a transaction must not wait for (the others may hold every
// connection, waiting for theirs). A failure is tried again by the next
// call.
func (p *preparedStatements) prepareAside(st *preparedStatement, db *sql.DB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || st.stmt.Load() != nil || !st.preparing.CompareAndSwap(false, true) {
		return
	}
	p.aside.Go(func() {
		defer st.preparing.Store(false)
		ctx, cancel := context.WithTimeout(p.stop, time.Minute)
		defer cancel()
		_, _ = st.prepared(ctx, db)
	})
}

func (p *preparedStatements) close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.end()
	p.aside.Wait()
	var errs []error
	for _, s := range p.all {
		if stmt := s.stmt.Swap(nil); stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

// on is a Store that reads and writes within tx.
func (s *Store) on(tx bun.Tx) *Store {
	return &Store{root: s.root, db: tx, postgres: s.postgres, prepared: s.prepared}
}

// timeArg is t as a prepared statement's argument: the text bun would put
// in the query, so that SQLite compares it with the times bun stored
// (its driver would write a time.Time in another format).
func (s *Store) timeArg(t time.Time) string {
	b := s.root.Dialect().AppendTime(nil, t)
	return strings.Trim(string(b), "'")
}

// scanPrepared runs st with args, within the Store's transaction when it
// has one, and scans its rows into dest as bun's Scan would.
func (s *Store) scanPrepared(ctx context.Context, st *preparedStatement, args []any, dest ...any) error {
	var stmt *sql.Stmt
	if tx, ok := s.db.(bun.Tx); ok {
		if stmt = st.stmt.Load(); stmt == nil {
			// Not prepared yet: this once it runs as bun runs any query,
			// while it is prepared on the side.
			s.prepared.prepareAside(st, s.root.DB)
			return s.db.NewRaw(st.raw, args...).Scan(ctx, dest...)
		}
		// Within the Store's transaction, on its connection (prepared
		// there by database/sql unless it was already).
		stmt = tx.StmtContext(ctx, stmt)
		defer stmt.Close()
	} else {
		var err error
		if stmt, err = st.prepared(ctx, s.root.DB); err != nil {
			return err
		}
	}
	// Run through bun so that its query hooks (tracing, statement counts)
	// see the statement like any other; preparedConn hands it to the
	// prepared statement with the arguments.
	return s.db.NewRaw(st.text).Conn(preparedConn{stmt: stmt, text: st.text, args: args}).Scan(ctx, dest...)
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

var errNotThePrepared = errors.New("store: a prepared statement was asked to run another query")

func (c preparedConn) QueryContext(ctx context.Context, query string, _ ...any) (*sql.Rows, error) {
	if query != c.text {
		return nil, errNotThePrepared
	}
	return c.stmt.QueryContext(ctx, c.args...)
}

func (c preparedConn) ExecContext(ctx context.Context, query string, _ ...any) (sql.Result, error) {
	if query != c.text {
		return nil, errNotThePrepared
	}
	return c.stmt.ExecContext(ctx, c.args...)
}

// QueryRowContext completes bun.IConn; bun scans with QueryContext.
func (c preparedConn) QueryRowContext(ctx context.Context, _ string, _ ...any) *sql.Row {
	return c.stmt.QueryRowContext(ctx, c.args...)
}
