// Command topology benchmarks whole sign-ins on flexauth's production
// topology, as docker-compose.yml runs it but as processes on this host: a
// throw-away PostgreSQL (internal/pgtest), a Temporal server on it
// (internal/topology), `flexauth migrate`, `flexauth api` and `flexauth
// worker` with the smtp plugin sending to a mail sink (internal/mailsink).
// It measures what issue 12 asks: sign-ins/s, latency percentiles, history
// events, PostgreSQL transactions and new connections, and CPU and memory
// per process read from /proc (memory also as the pending attempts grow).
//
//	go run ./bench/topology                         # closed-loop sign-ins, production topology
//	go run ./bench/topology -mode check             # open-loop polling of pending attempts
//	go run ./bench/topology -mode check -method totp -pending 100000 # TOTP attempts, pending an hour
//	go run ./bench/topology -target dev             # sign-ins against `flexauth dev`
//
// See the README's Benchmarks section. It must run from the repository (it
// builds cmd/flexauth and reads docker-compose.yml).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/flexauth/flexauth/internal/topology"
)

func main() {
	// The Temporal server is this program started again.
	topology.RunTemporalChild()
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "topology:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "topology:", err)
		os.Exit(1)
	}
	if cfg.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	rep.print(os.Stdout)
}

// The methods of mode check's pending attempts.
const (
	methodPIN  = "pin"
	methodTOTP = "totp"
)

// config is the command line.
type config struct {
	mode, target   string
	concurrency    int
	warmup         time.Duration
	duration       time.Duration
	apiReplicas    int
	workerReplicas int
	users          int
	pending        int
	method         string
	workflowCache  int
	rate           float64
	signInRate     float64
	databaseURL    string
	repo           string
	keep           bool
	json           bool
	historySample  int
	profileDir     string
	ttl            time.Duration
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("topology", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.mode, "mode", "signin", "signin: closed-loop whole sign-ins; check: open-loop polls of pending attempts")
	fs.StringVar(&c.target, "target", "production", "production: api, worker and Temporal on PostgreSQL; dev: `flexauth dev` (SQLite, embedded Temporal, outbox)")
	fs.IntVar(&c.concurrency, "concurrency", 8, "sign-ins in flight (mode signin); starts in flight while creating the pending attempts (mode check)")
	fs.DurationVar(&c.warmup, "warmup", 10*time.Second, "load before measuring")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "measured load")
	fs.IntVar(&c.apiReplicas, "api-replicas", 1, "flexauth api processes; the load alternates between them")
	fs.IntVar(&c.workerReplicas, "worker-replicas", 1, "flexauth worker processes")
	fs.IntVar(&c.users, "users", 0, "users signing in (mode signin); 0: enough that the per-user start limit (10 in 15 minutes) is never reached at 100 sign-ins/s")
	fs.IntVar(&c.pending, "pending", 10000, "attempts left pending, each of its own user (mode check)")
	fs.StringVar(&c.method, "method", methodPIN, "mode check: pin (a PIN delivered by email; its attempt lives at most 600 s) or totp (users enrolled first through the admin API; nothing delivered, the attempt lives the system's TTL, an hour)")
	fs.IntVar(&c.workflowCache, "workflow-cache", 0, "attempts each worker keeps in its workflow cache (its --workflow-cache; 0: its default)")
	fs.Float64Var(&c.rate, "rate", 3000, "polls of check a second, spread over the pending attempts (mode check)")
	fs.Float64Var(&c.signInRate, "signin-rate", 0, "mode signin: start this many sign-ins a second, open loop, instead of keeping -concurrency in flight (0: closed loop)")
	fs.StringVar(&c.databaseURL, "database-url", "", "admin DSN of an existing PostgreSQL to use instead of a throw-away cluster (its CPU then includes everything else it serves)")
	fs.StringVar(&c.repo, "repo", ".", "the flexauth repository (cmd/flexauth, docker-compose.yml, deploy/plugins.json)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work folder (logs of every process) and print its path")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON")
	fs.IntVar(&c.historySample, "history-sample", 20, "completed sign-ins whose workflow history is counted")
	fs.DurationVar(&c.ttl, "ttl", 5*time.Minute, "mode signin: the system's TTL (30s to 24h, whole seconds); shorter than -warmup, the attempts' timers fire in the window, as each does on the server after its attempt, completed or not")
	fs.StringVar(&c.profileDir, "profile", "", "production: write CPU profiles of the Temporal server and of each worker over the measured window into this folder (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.mode != "signin" && c.mode != "check":
		return c, fmt.Errorf("-mode %q: want signin or check", c.mode)
	case c.target != "production" && c.target != "dev":
		return c, fmt.Errorf("-target %q: want production or dev", c.target)
	case c.concurrency < 1, c.apiReplicas < 1, c.workerReplicas < 1:
		return c, errors.New("-concurrency, -api-replicas and -worker-replicas must be at least 1")
	case c.duration <= 0 || c.warmup < 0:
		return c, errors.New("-duration must be positive and -warmup not negative")
	case c.signInRate < 0 || c.workflowCache < 0:
		return c, errors.New("-signin-rate and -workflow-cache must not be negative")
	case c.method != methodPIN && c.method != methodTOTP:
		return c, fmt.Errorf("-method %q: want %s or %s", c.method, methodPIN, methodTOTP)
	case c.ttl < 30*time.Second || c.ttl > 24*time.Hour || c.ttl%time.Second != 0:
		return c, fmt.Errorf("-ttl %v: want whole seconds from 30s to 24h (what a system takes)", c.ttl)
	case c.profileDir != "" && c.target != "production":
		return c, errors.New("-profile: the production target only (dev runs Temporal inside flexauth)")
	case c.mode == "check" && (c.pending < 1 || c.rate <= 0):
		return c, errors.New("-pending and -rate must be positive")
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if c.users == 0 {
		// 100 sign-ins/s over the run, at most 5 starts per user.
		c.users = max(200, int((c.warmup+c.duration).Seconds()*100/5))
	}
	return c, nil
}

// run sets up the target, loads it and measures.
func run(ctx context.Context, cfg config, logw io.Writer) (*report, error) {
	dir, err := os.MkdirTemp("", "flexauth-bench-")
	if err != nil {
		return nil, err
	}
	if cfg.keep {
		fmt.Fprintf(logw, "work folder (logs): %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(logw, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	var st *stack
	if cfg.target == "dev" {
		st, err = startDev(ctx, cfg, dir, logf)
	} else {
		st, err = startProduction(ctx, cfg, dir, logf)
	}
	if st != nil {
		defer st.close()
	}
	if err != nil {
		return nil, err
	}
	if cfg.mode == "check" {
		return runCheck(ctx, cfg, st, logf)
	}
	return runSignIns(ctx, cfg, st, logf)
}
