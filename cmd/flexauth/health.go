package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/flexauth/flexauth/internal/health"
)

// defaultHealthAddr is where a worker answers its probes unless told
// otherwise: loopback, so that nothing is exposed by default; a container
// sets FLEXAUTH_HEALTH_ADDR=0.0.0.0:8081.
const defaultHealthAddr = "127.0.0.1:8081"

// envOrSet is envOr where an empty value counts: FLEXAUTH_HEALTH_ADDR=""
// turns the listener off.
func envOrSet(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// pinger is the store's part in a worker's readiness.
type pinger interface {
	Ping(ctx context.Context) error
}

// workerChecks are what a worker's /readyz checks: the store and Temporal
// answer, its plugins are launched, and it has started polling.
func workerChecks(st pinger, tc client.Client, plugins func(context.Context) error, polling *atomic.Bool) []health.Check {
	return []health.Check{
		{Name: "store", Failure: "unreachable", Run: st.Ping},
		{Name: "temporal", Failure: "unreachable", Run: func(ctx context.Context) error {
			_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
		{Name: "plugins", Failure: "not launched", Run: plugins},
		{Name: "polling", Failure: "not started", Run: func(context.Context) error {
			if !polling.Load() {
				return errors.New("the worker has not started polling")
			}
			return nil
		}},
	}
}

// healthListener serves a worker's probes on their own address: /healthz,
// /readyz, when metrics is not nil, /metrics and, when asked, CPU and heap
// profiles. No Host check on the probes and metrics: their answers carry
// fixed words and counters, nothing a page could abuse.
type healthListener struct {
	srv *http.Server
	ln  net.Listener
}

// listenHealth listens on addr now, so that a taken port stops the start.
func listenHealth(addr string, ready *health.Readiness, metrics http.Handler, profiles bool) (*healthListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", health.Alive)
	mux.Handle("GET /readyz", ready)
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	if profiles {
		serveProfiles(mux)
	}
	return &healthListener{srv: newHTTPServer(addr, mux), ln: ln}, nil
}

// serveProfiles adds Go's CPU, heap and allocation profiles under
// /debug/pprof/: how a worker's CPU is taken apart under load
// (bench/topology -profile). Only these: they hold code addresses and
// sizes, never memory contents, while pprof's goroutine dump can print
// the words of functions' arguments and its cmdline the command line,
// which may carry a database password. They answer only requests whose
// Host is an address or localhost: a web page that rebinds its own name
// to the worker's address cannot read them.
func serveProfiles(mux *http.ServeMux) {
	mux.Handle("GET /debug/pprof/profile", directHostOnly(http.HandlerFunc(pprof.Profile)))
	for _, name := range []string{"heap", "allocs"} {
		mux.Handle("GET /debug/pprof/"+name, directHostOnly(pprof.Handler(name)))
	}
}

// directHostOnly refuses a request whose Host is a name other than
// localhost (421 Misdirected Request).
func directHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host != "localhost" && net.ParseIP(strings.Trim(host, "[]")) == nil {
			http.Error(w, "profiles answer only requests to an address or localhost", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serve answers probes until Shutdown.
func (h *healthListener) serve(logger *slog.Logger) {
	if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("health listener stopped", "error", err)
	}
}

// Shutdown stops answering probes.
func (h *healthListener) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return h.srv.Shutdown(ctx)
}

// newMetricsRegistry returns the registry of one process: the metrics its
// parts register, and the Go runtime's and the process's own. Never the
// global default registry: each process (and each test) has its own.
func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsHandler serves what reg gathers.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
