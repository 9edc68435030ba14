package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flexauth/flexauth/store"
)

// With a tracer provider, each query is a client span naming its
// operation and table; the query text, with the values bun formats into
// it, is not recorded.
func TestQuerySpansHoldNoValues(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "traced.db"), store.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must(t, s.Migrate(ctx))
	const personal = "carol.private@example.com"
	must(t, s.CreateAccount(ctx, &store.Account{ID: "traced", Name: personal, CreatedAt: time.Now().UTC()}))
	if _, err := s.GetAccount(ctx, "traced"); err != nil {
		t.Fatal(err)
	}
	// A conflict: the error's text quotes nothing into the span either.
	if err := s.CreateAccount(ctx, &store.Account{ID: "traced", Name: personal, CreatedAt: time.Now().UTC()}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create = %v, want a conflict", err)
	}

	var names []string
	for _, span := range rec.Ended() {
		names = append(names, span.Name())
		for _, a := range span.Attributes() {
			if strings.Contains(a.Value.String(), personal) || strings.Contains(a.Value.String(), "traced") {
				t.Errorf("span %s: %s = %q holds a value", span.Name(), a.Key, a.Value.String())
			}
			if a.Key == "db.query.text" || a.Key == "db.statement" {
				t.Errorf("span %s records the query text", span.Name())
			}
		}
		for _, e := range span.Events() {
			t.Errorf("span %s has event %s", span.Name(), e.Name)
		}
		if strings.Contains(span.Status().Description, personal) {
			t.Errorf("span %s status holds a value", span.Name())
		}
	}
	// GetAccount is a raw query: its table is not known, its operation is.
	all := "," + strings.Join(names, ",") + ","
	for _, want := range []string{",INSERT accounts,", ",SELECT,"} {
		if !strings.Contains(all, want) {
			t.Errorf("no span %q among %v", strings.Trim(want, ","), names)
		}
	}
}
