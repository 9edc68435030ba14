package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/health"
	"github.com/flexauth/flexauth/worker"
)

func runAPI(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	var p productionFlags
	p.register(fs)
	var pr policyReviewFlags
	pr.register(fs)
	addr := fs.String("addr", envOr("FLEXAUTH_ADDR", "127.0.0.1:8080"), "listen address")
	var edge edgeFlags
	edge.register(fs)
	drainFlag := fs.String("drain-delay", envOr("FLEXAUTH_DRAIN_DELAY", "0s"),
		"on SIGTERM, how long to keep serving with /readyz answering 503 before the listener closes, for load balancers that probe (env FLEXAUTH_DRAIN_DELAY)")
	otlp := registerOTLPFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	drainDelay, err := time.ParseDuration(*drainFlag)
	if err != nil || drainDelay < 0 {
		return fmt.Errorf("--drain-delay %q: want a duration such as 5s (0 closes at once)", *drainFlag)
	}
	review, err := pr.config()
	if err != nil {
		return err
	}
	grace, err := p.shutdownGrace()
	if err != nil {
		return err
	}
	tr, flushTraces, err := startTracing(ctx, "flexauth-api", *otlp, logger)
	if err != nil {
		return err
	}
	defer flushTraces()
	reg := newMetricsRegistry()
	cfg := api.Config{PublicURL: p.publicURL, ListenAddr: *addr, Logger: logger, PolicyReview: review, Metrics: reg, Tracing: tr.API()}
	if err := edge.apply(&cfg); err != nil {
		return err
	}
	keys, err := p.keyring()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, p.database, tr.Store()...)
	if err != nil {
		return err
	}
	defer st.Close()
	sdkMetrics, err := temporalMetrics(reg, logger)
	if err != nil {
		return err
	}
	traceTemporal, err := tr.Temporal()
	if err != nil {
		return err
	}
	tc, err := dialTemporal(p.temporal, p.namespace, keys, sdkMetrics, logger, traceTemporal)
	if err != nil {
		return err
	}
	defer tc.Close()
	logger.Info("api listening", "addr", *addr)
	a := newAPI(st, tc, keys, cfg)
	return serveHTTPGrace(ctx, newHTTPServer(*addr, a.Handler()), stopping{drainDelay: drainDelay, grace: grace}, a)
}

func runWorker(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var p productionFlags
	p.register(fs)
	var pf pluginFlags
	pf.register(fs)
	healthAddr := fs.String("health-addr", envOrSet("FLEXAUTH_HEALTH_ADDR", defaultHealthAddr),
		"listen address of /healthz, /readyz and /metrics; empty: none (env FLEXAUTH_HEALTH_ADDR)")
	profiles := fs.Bool("pprof", envOrSet("FLEXAUTH_PPROF", "") == "true",
		"also serve Go's CPU, heap and allocation profiles under /debug/pprof/ on the health address, to requests for an address or localhost (env FLEXAUTH_PPROF=true)")
	otlp := registerOTLPFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := pf.checkLimits(); err != nil {
		return err
	}
	if *profiles && *healthAddr == "" {
		return errors.New("--pprof serves on the health address: it needs --health-addr")
	}
	grace, err := p.shutdownGrace()
	if err != nil {
		return err
	}
	keys, err := p.keyring()
	if err != nil {
		return err
	}
	tr, flushTraces, err := startTracing(ctx, "flexauth-worker", *otlp, logger)
	if err != nil {
		return err
	}
	defer flushTraces()
	st, err := openStore(ctx, p.database, tr.Store()...)
	if err != nil {
		return err
	}
	defer st.Close()
	plugins, actsCfg, err := pf.host(logger, activities.Config{PublicURL: p.publicURL}, tr.Plugins())
	if err != nil {
		return err
	}
	defer plugins.Close()
	reg := newMetricsRegistry()
	actsCfg.Metrics = reg
	sdkMetrics, err := temporalMetrics(reg, logger)
	if err != nil {
		return err
	}
	traceTemporal, err := tr.Temporal()
	if err != nil {
		return err
	}
	tc, err := dialTemporal(p.temporal, p.namespace, keys, sdkMetrics, logger, traceTemporal)
	if err != nil {
		return err
	}
	defer tc.Close()
	// The probes answer while the worker starts: ready once it polls.
	var polling atomic.Bool
	if *healthAddr != "" {
		ready := health.NewReadiness(logger, workerChecks(st, tc, plugins.Ready, &polling)...)
		hl, err := listenHealth(*healthAddr, ready, metricsHandler(reg), *profiles)
		if err != nil {
			return err
		}
		go hl.serve(logger)
		defer hl.Shutdown(context.WithoutCancel(ctx))
		logger.Info("health listening", "addr", *healthAddr)
	}
	acts := newActivities(ctx, st, plugins, keys, actsCfg, logger)
	w, err := worker.Start(tc, acts, worker.Options{StopTimeout: grace, CacheSize: pf.workflowCache})
	if err != nil {
		return err
	}
	defer w.Stop()
	polling.Store(true)
	logger.Info("worker running", "temporal", p.temporal)
	<-ctx.Done()
	// Draining: no longer ready, so that nothing waits on this replica;
	// the deferred w.Stop lets running activities finish within grace.
	polling.Store(false)
	logger.Info("worker stopping", "grace", grace)
	return nil
}

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	database := fs.String("database", "", "database URL or SQLite file (default: env FLEXAUTH_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, *database)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}
