package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Option changes how Open sets up the store.
type Option func(*options)

type options struct {
	tracer trace.TracerProvider
}

// WithTracerProvider makes a client span of every query, from tp's tracer.
// Without it queries are not traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// tracerName names the instrumentation in the spans' scope.
const tracerName = "github.com/flexauth/flexauth/store"

// queryTracer is a bun.QueryHook making one span per query. It records the
// operation and the table, never the query text: bun formats values into
// the query (emails, digests, sealed secrets), and a trace backend is no
// place for them.
type queryTracer struct {
	tracer trace.Tracer
	system attribute.KeyValue
}

var _ bun.QueryHook = (*queryTracer)(nil)

func newQueryTracer(tp trace.TracerProvider, postgres bool) *queryTracer {
	system := semconv.DBSystemNameSQLite
	if postgres {
		system = semconv.DBSystemNamePostgreSQL
	}
	return &queryTracer{tracer: tp.Tracer(tracerName), system: system}
}

// spanKey carries the query's span from BeforeQuery to AfterQuery in the
// event's stash (the context BeforeQuery returns reaches AfterQuery too,
// but the stash does not depend on bun passing it on).
type spanKey struct{}

func (q *queryTracer) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	op := operation(e.Operation())
	table := tableName(e.IQuery)
	name := op
	attrs := []attribute.KeyValue{q.system, semconv.DBOperationName(op)}
	if table != "" {
		name += " " + table
		attrs = append(attrs, semconv.DBCollectionName(table))
	}
	ctx, span := q.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if e.Stash == nil {
		e.Stash = make(map[any]any, 1)
	}
	e.Stash[spanKey{}] = span
	return ctx
}

func (q *queryTracer) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	span, ok := e.Stash[spanKey{}].(trace.Span)
	if !ok {
		return
	}
	defer span.End()
	// No rows is an answer, not a failure. The error's text may quote
	// values (a constraint's key), so only its kind is recorded.
	if e.Err != nil && !errors.Is(e.Err, sql.ErrNoRows) {
		span.SetStatus(codes.Error, "query failed")
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(e.Err)))
	}
}

// operation keeps a SQL keyword (SELECT, INSERT, …) and nothing else.
func operation(op string) string {
	op = strings.ToUpper(op)
	for _, r := range op {
		if (r < 'A' || r > 'Z') && r != '_' && r != ' ' {
			return "QUERY"
		}
	}
	if op == "" {
		return "QUERY"
	}
	return op
}

// tableName is the query's table when it is a plain identifier: a table
// expression could hold anything.
func tableName(q bun.Query) string {
	t, ok := q.(interface{ GetTableName() string })
	if !ok {
		return ""
	}
	// A model's table may come as `"users" AS "u"`: the name is the
	// first word.
	fields := strings.Fields(t.GetTableName())
	if len(fields) == 0 {
		return ""
	}
	name := strings.Trim(fields[0], "\"`")
	if name == "" || len(name) > 64 {
		return ""
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return ""
		}
	}
	return name
}

// errorType is a bounded word for a failed query.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}
