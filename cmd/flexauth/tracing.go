package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/flexauth/flexauth/internal/tracing"
)

// registerOTLPFlag adds --otlp-endpoint to a command's flags.
func registerOTLPFlag(fs *flag.FlagSet) *string {
	return fs.String("otlp-endpoint", "",
		"OTLP/gRPC collector URL for traces, e.g. http://collector:4317 (plain) or https://…; empty: the standard OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; none set: no tracing")
}

// startTracing is tracing.New for a command, with a function that flushes
// the spans at exit (logging, not failing, when the collector is away).
func startTracing(ctx context.Context, service, endpointURL string, logger *slog.Logger) (*tracing.Tracing, func(), error) {
	t, err := tracing.New(ctx, service, endpointURL)
	if err != nil {
		return nil, nil, err
	}
	if t.Enabled() {
		logger.Info("tracing on: spans exported over OTLP", "service", service)
	}
	return t, func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := t.Shutdown(flushCtx); err != nil {
			logger.Warn("traces not all exported", "error", err)
		}
	}, nil
}
