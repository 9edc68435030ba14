package tracing

import (
	"context"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
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

// collector is an OTLP/gRPC trace receiver that keeps what it is sent.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer
	got chan *coltracepb.ExportTraceServiceRequest
}

func (c *collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.got <- req
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, spans reach the collector it
// names, under the command's service name, at the latest on Shutdown.
func TestExportsToTheEnvironmentsCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	c := &collector{got: make(chan *coltracepb.ExportTraceServiceRequest, 16)}
	coltracepb.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }() // returns once Stop runs
	defer srv.Stop()
	t.Setenv(envOTLPTracesEndpoint, "")
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv(envOTLPEndpoint, "http://"+ln.Addr().String())

	tr, err := New(context.Background(), "flexauth-worker", "")
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider.Tracer("x").Start(context.Background(), "RunActivity:Deliver")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-c.got:
		rs := req.GetResourceSpans()[0]
		var service string
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		name := rs.GetScopeSpans()[0].GetSpans()[0].GetName()
		if service != "flexauth-worker" || name != "RunActivity:Deliver" {
			t.Fatalf("collector got span %q of service %q", name, service)
		}
	default:
		t.Fatal("the collector received nothing by the end of Shutdown")
	}
}
