package main

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// temporalMetrics returns the handler through which the Temporal SDK
// reports its own metrics (requests to the server, polls, workflow and
// activity task latencies, ...) into reg, the process's registry, under
// the SDK's names with Prometheus suffixes: temporal_request_total,
// temporal_activity_execution_latency_seconds. The SDK reports through an
// OpenTelemetry meter read by the Prometheus exporter (the tally reporter
// is not available here); the meter provider is this process's own, never
// the global one. Its labels are the SDK's: namespace, task queue,
// workflow and activity types, operation; never a workflow id or a user.
func temporalMetrics(reg prometheus.Registerer, logger *slog.Logger) (client.MetricsHandler, error) {
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		// The scope and resource say "temporal-sdk-go" and the OTel SDK's
		// version on every series: noise next to flexauth's own metrics.
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal metrics exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		// The SDK's timers are histograms in seconds; OTel's default
		// buckets (0 to 10000) are made for milliseconds.
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: prometheus.DefBuckets}},
		)),
	)
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: provider.Meter("temporal-sdk-go"),
		// The default panics; a metric the meter refuses is not worth a
		// crash.
		OnError: func(err error) { logger.Warn("temporal metric not recorded", "error", err) },
		// Counters as Prometheus counters (_total), not gauges.
		UseMonotonicCounters: true,
	}), nil
}
