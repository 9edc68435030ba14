package tracing

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
)

// Without an OTLP endpoint, in the flag or the standard environment,
// tracing is off: a no-op provider and nothing instrumented.
func TestOffWithoutEndpoint(t *testing.T) {
	t.Setenv(envOTLPEndpoint, "")
	t.Setenv(envOTLPTracesEndpoint, "")
	tr, err := New(context.Background(), "flexauth-api", "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Fatal("tracing on without an endpoint")
	}
	if _, ok := tr.Provider.(noop.TracerProvider); !ok {
		t.Fatalf("provider is %T, want the no-op one", tr.Provider)
	}
	_, span := tr.Provider.Tracer("x").Start(context.Background(), "s")
	if span.SpanContext().IsValid() || span.IsRecording() {
		t.Fatal("the no-op provider made a real span")
	}
	ti, err := tr.TemporalInterceptor()
	if err != nil || ti != nil {
		t.Fatalf("temporal interceptor when off = %v, %v; want none", ti, err)
	}
	if tr.API() != nil || tr.Store() != nil || len(tr.Plugins().DialOptions) != 0 {
		t.Fatal("something is instrumented with tracing off")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown when off: %v", err)
	}
}

// Either standard variable turns tracing on; the exporter connects lazily,
// so an absent collector does not stop the start.
func TestOnWithEnvironment(t *testing.T) {
	for _, env := range []string{envOTLPEndpoint, envOTLPTracesEndpoint} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(envOTLPEndpoint, "")
			t.Setenv(envOTLPTracesEndpoint, "")
			// A port nothing listens on (the discard port).
			t.Setenv(env, "http://127.0.0.1:9")
			tr, err := New(context.Background(), "flexauth-worker", "")
			if err != nil {
				t.Fatal(err)
			}
			if !tr.Enabled() || tr.API() == nil || len(tr.Store()) != 1 || len(tr.Plugins().DialOptions) != 1 {
				t.Fatal("tracing not on, or a part not instrumented")
			}
			ti, err := tr.TemporalInterceptor()
			if err != nil || ti == nil {
				t.Fatalf("temporal interceptor = %v, %v", ti, err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // do not wait for the absent collector
			_ = tr.Shutdown(ctx)
		})
	}
}

// The service name is the command's unless OTEL_SERVICE_NAME says another.
func TestServiceName(t *testing.T) {
	for _, c := range []struct{ env, want string }{{"", "flexauth-api"}, {"auth-edge", "auth-edge"}} {
		t.Setenv("OTEL_SERVICE_NAME", c.env)
		rec := tracetest.NewSpanRecorder()
		tr, err := NewWithProcessor(context.Background(), "flexauth-api", rec)
		if err != nil {
			t.Fatal(err)
		}
		_, span := tr.Provider.Tracer("x").Start(context.Background(), "s")
		span.End()
		got, _ := rec.Ended()[0].Resource().Set().Value(attribute.Key("service.name"))
		if got.AsString() != c.want {
			t.Errorf("OTEL_SERVICE_NAME=%q: service.name = %q, want %q", c.env, got.AsString(), c.want)
		}
		_ = tr.Shutdown(context.Background())
	}
}

func TestPluginService(t *testing.T) {
	for method, want := range map[string]bool{
		"/flexauth.plugins.v1.Delivery/Send":   true,
		"/flexauth.plugins.v1.Identity/Lookup": true,
		"/plugin.GRPCStdio/StreamStdio":        false,
		"/plugin.GRPCController/Shutdown":      false,
		"/grpc.health.v1.Health/Check":         false,
	} {
		if got := pluginService(method); got != want {
			t.Errorf("pluginService(%q) = %v, want %v", method, got, want)
		}
	}
}
