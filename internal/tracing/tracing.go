// Package tracing sets up a process's OpenTelemetry traces: a tracer
// provider exporting over OTLP when the standard environment (or
// --otlp-endpoint) names a collector, and the instrumentation of the API,
// the Temporal client and workers, the plugin host and the store, all from
// that one provider. Nothing is installed globally.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/store"
)

// The standard OpenTelemetry variables that turn tracing on; the exporter
// reads them (and OTEL_EXPORTER_OTLP_HEADERS, _INSECURE, …) itself.
const (
	envOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// Tracing is a process's tracer provider and propagator, passed to what
// makes spans (the API, the Temporal client, the plugin host, the store);
// nothing is installed globally. Off, Provider is a no-op and nothing is
// instrumented.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	// shutdown flushes the spans not yet exported.
	shutdown func(context.Context) error
}

// Enabled reports whether spans are made at all; a nil Tracing is off.
func (t *Tracing) Enabled() bool { return t != nil && t.shutdown != nil }

// Endpoint is the --otlp-endpoint flag's value, or the standard
// environment's endpoint: tracing is off when both are empty.
func Endpoint(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(envOTLPTracesEndpoint); v != "" {
		return v
	}
	return os.Getenv(envOTLPEndpoint)
}

// New exports spans over OTLP/gRPC when an endpoint is configured
// (endpointURL from --otlp-endpoint, else the OTEL_EXPORTER_OTLP_*
// environment), as service (OTEL_SERVICE_NAME overrides). Without one it
// returns the no-op tracing.
func New(ctx context.Context, service, endpointURL string) (*Tracing, error) {
	if Endpoint(endpointURL) == "" {
		return &Tracing{Provider: noop.NewTracerProvider(), Propagator: propagation.NewCompositeTextMapPropagator()}, nil
	}
	var opts []otlptracegrpc.Option
	if endpointURL != "" {
		opts = append(opts, otlptracegrpc.WithEndpointURL(endpointURL))
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	return NewWithProcessor(ctx, service, sdktrace.NewBatchSpanProcessor(exp))
}

// NewWithProcessor makes spans and hands them to processors (tests give an
// in-memory exporter's).
func NewWithProcessor(ctx context.Context, service string, processors ...sdktrace.SpanProcessor) (*Tracing, error) {
	// The environment's attributes come last, so OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES override the default name.
	res, err := sdkresource.New(ctx,
		sdkresource.WithAttributes(semconv.ServiceName(service)),
		sdkresource.WithFromEnv(),
		sdkresource.WithTelemetrySDK())
	if err != nil && !errors.Is(err, sdkresource.ErrPartialResource) {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, p := range processors {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	// W3C trace context only: baggage would carry a caller's arbitrary
	// data into workflow headers, and so into workflow history.
	return &Tracing{Provider: tp, Propagator: propagation.TraceContext{}, shutdown: tp.Shutdown}, nil
}

// Shutdown flushes and stops the exporter; nothing when off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// API is the API's request tracing; nil when off.
func (t *Tracing) API() *api.Tracing {
	if !t.Enabled() {
		return nil
	}
	return &api.Tracing{Provider: t.Provider, Propagator: t.Propagator}
}

// Store is the store's query tracing; none when off.
func (t *Tracing) Store() []store.Option {
	if !t.Enabled() {
		return nil
	}
	return []store.Option{store.WithTracerProvider(t.Provider)}
}

// Plugins traces each call to a plugin process as a gRPC client span and
// passes the trace context to the plugin in the call's metadata. Only
// flexauth's plugin services are traced, not go-plugin's own (stdio
// streams, broker, controller).
func (t *Tracing) Plugins() host.Options {
	if !t.Enabled() {
		return host.Options{}
	}
	h := otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(t.Provider),
		otelgrpc.WithPropagators(t.Propagator),
		// Not the global meter provider: no metrics from here.
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool {
			return pluginService(info.FullMethodName)
		}))
	return host.Options{DialOptions: []grpc.DialOption{grpc.WithStatsHandler(h)}}
}

// pluginService reports whether a gRPC method is one of flexauth's plugin
// services ("/flexauth.plugins.v1.Delivery/Send").
func pluginService(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/flexauth.plugins.")
}

// Temporal adds the tracing interceptor to the Temporal client (and so to
// its workers): starting or updating a workflow carries the trace context
// in a header, and the workflow's and activities' spans join the trace.
// The header holds the span context only (traceparent), no baggage.
func (t *Tracing) Temporal() (func(*client.Options), error) {
	ti, err := t.TemporalInterceptor()
	if err != nil || ti == nil {
		return func(*client.Options) {}, err
	}
	return func(o *client.Options) {
		o.Interceptors = append(o.Interceptors, interceptor.ClientInterceptor(ti))
	}, nil
}

// TemporalInterceptor is Temporal's tracing interceptor on t's provider,
// for clients and workers (and replayers, which tests give it); nil when
// off. It adds headers to the commands a workflow issues and spans
// outside the workflow's logic, never a command or an event: histories
// recorded with or without it replay either way (workflows' TestReplay,
// e2e's TestTraceLinksRequestWorkflowPluginAndStore).
func (t *Tracing) TemporalInterceptor() (interceptor.Interceptor, error) {
	if !t.Enabled() {
		return nil, nil
	}
	ti, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:            t.Provider.Tracer("go.temporal.io/sdk"),
		TextMapPropagator: t.Propagator,
		DisableBaggage:    true,
	})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return ti, nil
}
