package storetest

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/flexauth/flexauth/store"
)

// Open returns a migrated store on dsn (a SQLite path or a postgres://
// URL), closed when the test ends.
func Open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// Statements counts the statements a store sends to its database, by
// operation (SELECT, INSERT, BEGIN, COMMIT...): each is a round trip, and
// the count of a call is what a change to the store's queries should move.
// It is safe for concurrent use.
type Statements struct {
	mu    sync.Mutex
	n     map[string]int
	texts []string
}

var _ bun.QueryHook = (*Statements)(nil)

// CountStatements starts counting st's statements.
func CountStatements(st *store.Store) *Statements {
	s := &Statements{n: map[string]int{}}
	st.DB().AddQueryHook(s)
	return s
}

// BeforeQuery implements bun.QueryHook.
func (s *Statements) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

// AfterQuery implements bun.QueryHook.
func (s *Statements) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	op := strings.ToUpper(e.Operation())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[op]++
	s.texts = append(s.texts, e.Query)
}

// TakeTexts returns the text of each statement run since the last Take
// or TakeTexts, in order, and starts again from none.
func (s *Statements) TakeTexts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.texts
	s.texts, s.n = nil, map[string]int{}
	return out
}

// Take returns the statements counted since the last Take and starts
// again from zero.
func (s *Statements) Take() StatementCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := StatementCount{ByOperation: s.n}
	for op, n := range s.n {
		c.Total += n
		if op == "BEGIN" {
			c.Transactions += n
		}
	}
	s.n, s.texts = map[string]int{}, nil
	return c
}

// StatementCount is what Statements counted.
type StatementCount struct {
	// Total counts every statement, BEGIN and COMMIT included: the round
	// trips to the database.
	Total        int
	Transactions int
	ByOperation  map[string]int
}

// String reads like "12 statements, 2 transactions (BEGIN 2, COMMIT 2, INSERT 3, SELECT 5)".
func (c StatementCount) String() string {
	ops := make([]string, 0, len(c.ByOperation))
	for op := range c.ByOperation {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	for i, op := range ops {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(op + " " + strconv.Itoa(c.ByOperation[op]))
	}
	return strconv.Itoa(c.Total) + " statements, " + strconv.Itoa(c.Transactions) + " transactions (" + b.String() + ")"
}
