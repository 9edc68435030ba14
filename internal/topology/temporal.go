package topology

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/flexauth/flexauth/embedtemporal"
	"github.com/flexauth/flexauth/internal/freeport"
)

// temporalChildEnv carries a TemporalConfig (JSON) to the program started
// again as the Temporal server: RunTemporalChild runs it.
const temporalChildEnv = "FLEXAUTH_TOPOLOGY_TEMPORAL"

// TemporalGOGC is the Temporal server's GOGC, as docker-compose.yml sets
// it: the server started here runs like the compose file's.
const TemporalGOGC = "200"

// TemporalConfig is a Temporal server on PostgreSQL.
type TemporalConfig struct {
	// DatabaseURL and VisibilityURL are Temporal's two databases
	// (embedtemporal.PostgresConfig).
	DatabaseURL   string `json:"database_url"`
	VisibilityURL string `json:"visibility_url"`
	// Addr is the frontend's host:port; empty: a free port of 127.0.0.1,
	// chosen once and kept across restarts, as a service name would be.
	Addr string `json:"addr"`
	// PprofAddr, when set, is a host:port where the server serves its
	// CPU profiles (/debug/pprof/profile?seconds=N): how the benchmarks'
	// figures for the server are taken apart.
	PprofAddr string `json:"pprof_addr"`
	// LogPath receives the server's output (warnings and above).
	LogPath string `json:"-"`
}

// Temporal is a Temporal server running as a separate process, so that it
// can be killed with SIGKILL and started again on the same databases and
// address.
type Temporal struct {
	*Process
	// Addr is the frontend's host:port.
	Addr string
}

// RunTemporalChild runs the Temporal server when this program was started
// as one by StartTemporal, and then exits; otherwise it returns at once.
// Call it first thing in TestMain or main of any program that calls
// StartTemporal: the server is this same executable started again, which
// spares building and linking a second binary that embeds Temporal.
func RunTemporalChild() {
	raw, ok := os.LookupEnv(temporalChildEnv)
	if !ok {
		return
	}
	var cfg TemporalConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "temporal: %s: %v\n", temporalChildEnv, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := embedtemporal.StartPostgres(ctx, embedtemporal.PostgresConfig{
		DatabaseURL: cfg.DatabaseURL, VisibilityURL: cfg.VisibilityURL, Addr: cfg.Addr,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	cancel()
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
		os.Exit(1)
	}
	if cfg.PprofAddr != "" {
		servePprof(cfg.PprofAddr)
	}
	fmt.Printf("READY %s\n", s.HostPort())
	// Serve until killed, or until the parent goes away (stdin closes).
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = s.Stop()
	os.Exit(0)
}

// servePprof serves CPU profiles on addr in the background; a failure is
// reported and the server goes on without them.
func servePprof(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil {
			fmt.Fprintf(os.Stderr, "temporal: profiles on %s: %v\n", addr, err)
		}
	}()
}

// StartTemporal starts the server (this executable again, see
// RunTemporalChild) and waits until it answers, ctx ends or it fails.
func StartTemporal(ctx context.Context, cfg TemporalConfig) (*Temporal, error) {
	if cfg.Addr == "" {
		port, err := freeport.Port()
		if err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
		cfg.Addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	t := &Temporal{
		Process: &Process{
			Name: "temporal", Path: self, LogPath: cfg.LogPath,
			Env: append(os.Environ(), temporalChildEnv+"="+string(raw), "GOGC="+TemporalGOGC),
		},
		Addr: cfg.Addr,
	}
	if err := t.Restart(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// Restart starts the server again (it must not be running) and waits until
// it answers.
func (t *Temporal) Restart(ctx context.Context) error {
	stdout, err := t.start(true, true)
	if err != nil {
		return err
	}
	lines := make(chan string, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "READY ") || strings.HasPrefix(line, "ERROR ") {
				lines <- line
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		switch {
		case !ok:
			return fmt.Errorf("start temporal: exited before answering (see %s): %w", t.LogPath, t.ExitError())
		case strings.HasPrefix(line, "ERROR "):
			_ = t.Kill()
			return fmt.Errorf("start temporal: %s", strings.TrimPrefix(line, "ERROR "))
		}
		return nil
	case <-ctx.Done():
		_ = t.Kill()
		return fmt.Errorf("start temporal: %w", ctx.Err())
	}
}
