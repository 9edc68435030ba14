package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/pgtest"
	"github.com/flexauth/flexauth/internal/topology"
)

func TestMain(m *testing.M) {
	topology.RunTemporalChild()
	os.Exit(m.Run())
}

// TestBenchmarkReportsEveryFigure runs both modes briefly on one production
// topology (mode check with both methods) and checks that sign-ins and polls
// completed without errors and that every figure of the report was
// measured. It asserts no figure's
// value: performance is read from the report, not tested.
func TestBenchmarkReportsEveryFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole production topology")
	}
	profiles := t.TempDir()
	cfg, err := parseFlags([]string{"-concurrency", "2", "-warmup", "1s", "-duration", "3s",
		"-repo", "../..", "-database-url", os.Getenv(pgtest.DatabaseURLEnv), "-history-sample", "3",
		"-pending", "20", "-rate", "50",
		// Smaller than the attempts pending: some leave the worker's cache.
		"-workflow-cache", "10", "-profile", profiles}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logf := func(format string, a ...any) { t.Logf(format, a...) }
	st, err := startProduction(ctx, cfg, t.TempDir(), logf)
	if st != nil {
		defer st.close()
	}
	if err != nil {
		t.Fatal(err)
	}

	t.Run("sign-ins", func(t *testing.T) {
		cfg.mode = "signin"
		rep, err := runSignIns(ctx, cfg, st, logf)
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep, "start", "check", "sign-in")
		if rep.SignInsPerSecond <= 0 {
			t.Errorf("sign-ins/s = %v", rep.SignInsPerSecond)
		}
		if rep.HistoryEventsPerSignIn == nil || *rep.HistoryEventsPerSignIn <= 0 || rep.HistorySampled == 0 {
			t.Errorf("no history events counted (%d sampled)", rep.HistorySampled)
		}
		for _, name := range []string{"flexauth", "temporal"} {
			if rep.PostgresCPUmsPerOp[name] <= 0 {
				t.Errorf("no postgres CPU for the %s database: %v", name, rep.PostgresCPUmsPerOp)
			}
		}
		if _, ok := rep.PostgresCPUmsPerOp["other"]; !ok || len(rep.PostgresCPUmsPerOp) != 4 {
			t.Errorf("postgres CPU by database: %v", rep.PostgresCPUmsPerOp)
		}
		// -profile: a CPU profile of the Temporal server and of the worker
		// over the window, each one Go's pprof format (gzip).
		for _, name := range []string{"temporal.cpu.pprof", "worker-1.cpu.pprof"} {
			b, err := os.ReadFile(filepath.Join(profiles, name))
			if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
				t.Errorf("profile %s: %d bytes, %v", name, len(b), err)
			}
		}
	})
	for _, method := range []string{methodPIN, methodTOTP} {
		t.Run("polls of pending "+method+" attempts", func(t *testing.T) {
			cfg.mode, cfg.method = "check", method
			rep, err := runCheck(ctx, cfg, st, logf)
			if err != nil {
				t.Fatal(err) // among others when the policy chose another method
			}
			checkReport(t, rep, "check")
			if rep.Pending != 20 || rep.AchievedRate <= 0 || rep.Method != method {
				t.Errorf("pending %d %s attempts, achieved %v polls/s", rep.Pending, rep.Method, rep.AchievedRate)
			}
			if rep.StartsPerSecond <= 0 || (method == methodTOTP) != (rep.EnrolmentSeconds != nil) {
				t.Errorf("starts/s %v, enrolment %v", rep.StartsPerSecond, rep.EnrolmentSeconds)
			}
			if rep.HistoryEventsPerPending == nil || *rep.HistoryEventsPerPending <= 0 {
				t.Errorf("no history events counted for the pending attempts")
			}
			if method == methodTOTP {
				// Sampled at 0, 6 and 13 of 20: the first two had left
				// the cache of 10, and sign in all the same.
				a := rep.SignInsAfter
				if a == nil || a.Sampled != 3 || a.Evicted != 2 || a.Authenticated != 3 {
					t.Errorf("codes submitted after the window: %+v, want 3 sampled, 2 evicted, 3 authenticated", a)
				}
			}
			// Every 2 attempts of 20 (memoryStep), each with every component.
			if len(rep.RSSByPending) != 10 || rep.RSSByPending[9].Pending != 20 {
				t.Fatalf("memory by pending: %+v", rep.RSSByPending)
			}
			for _, s := range rep.RSSByPending {
				for _, name := range []string{"api", "worker", "temporal", "postgres"} {
					if s.MiB[name] <= 0 {
						t.Errorf("no memory for %s at %d pending: %v", name, s.Pending, s.MiB)
					}
				}
			}
			for _, phase := range []string{"creation", "measured"} {
				if rep.PeakRSSMiB[phase]["worker"] <= 0 || rep.PeakRSSMiB[phase]["postgres"] <= 0 {
					t.Errorf("no peak memory while %s: %v", phase, rep.PeakRSSMiB[phase])
				}
			}
		})
	}
}

// checkReport checks a report has operations, no errors, the latencies
// named and the PostgreSQL and CPU figures.
func checkReport(t *testing.T, rep *report, latencies ...string) {
	t.Helper()
	if rep.Operations == 0 {
		t.Fatalf("no %s completed; errors %v %v", rep.Operation, rep.Errors, rep.ErrorExamples)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors %v: %v", rep.Errors, rep.ErrorExamples)
	}
	for _, name := range latencies {
		if p := rep.LatencyMS[name]; p.N == 0 || p.Max <= 0 {
			t.Errorf("latency of %s not measured: %+v", name, p)
		}
	}
	if rep.PGTransactionsPerOp == nil || *rep.PGTransactionsPerOp <= 0 || rep.PGNewConnectionsPerOp == nil {
		t.Errorf("PostgreSQL figures missing: transactions %v, connections %v", rep.PGTransactionsPerOp, rep.PGNewConnectionsPerOp)
	}
	for _, name := range []string{"api", "worker", "temporal", "postgres", "total"} {
		if _, ok := rep.CPUmsPerOp[name]; !ok {
			t.Errorf("no CPU figure for %s: %v", name, rep.CPUmsPerOp)
		}
	}
	if rep.CPUmsPerOp["total"] <= 0 {
		t.Errorf("no CPU measured: %v", rep.CPUmsPerOp)
	}
	for _, name := range []string{"api", "worker", "temporal", "postgres"} {
		if rep.RSSMiB[name] <= 0 {
			t.Errorf("no resident memory for %s: %v", name, rep.RSSMiB)
		}
	}
	t.Log(reportText(rep))
}

func reportText(rep *report) string {
	var b strings.Builder
	rep.print(&b)
	return b.String()
}

func TestStatSumsTheProcessAndItsReapedChildren(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
	st, err := parseStat("42 (postgres: a (b) c) S 7 42 42 0 -1 4194560 100 0 0 0 11 22 33 44 20 0 1 0")
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 7 || st.own != 33 || st.ticks != 110 {
		t.Errorf("parseStat = %+v, want ppid 7, own 33, ticks 110", st)
	}
	table := processTable{1: {ppid: 0, ticks: 5}, 10: {ppid: 1, ticks: 100}, 11: {ppid: 10, ticks: 20}, 12: {ppid: 11, ticks: 3}, 20: {ppid: 1, ticks: 7}}
	if got := table.treeTicks(10); got != 123 {
		t.Errorf("treeTicks(10) = %d, want 123 (the process, its child and grandchild, not its sibling)", got)
	}
	if got := table.treeTicks(99); got != 0 {
		t.Errorf("treeTicks of a process gone = %d, want 0", got)
	}
}

func TestProfileIsForProductionOnly(t *testing.T) {
	if _, err := parseFlags([]string{"-target", "dev", "-profile", t.TempDir()}, io.Discard); err == nil || !strings.Contains(err.Error(), "-profile") {
		t.Errorf("-target dev -profile: %v", err)
	}
}

func TestPostgresByDatabase(t *testing.T) {
	first := snapshot{pgCPU: map[backend]int64{{"flexauth", 10}: 5, {"temporal", 11}: 100, {"temporal", 12}: 7}}
	last := snapshot{pgCPU: map[backend]int64{
		{"flexauth", 10}:            15,  // 10 ticks in the window
		{"flexauth", 13}:            4,   // started in the window: all of it
		{"temporal", 11}:            130, // 30
		{"temporal_visibility", 14}: 2}}  // 2; temporal/12 ended: other
	got := postgresByDatabase(first, last, 600)
	want := map[string]float64{"flexauth": 140, "temporal": 300, "temporal_visibility": 20, "other": 140}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if postgresByDatabase(first, snapshot{}, 600) != nil {
		t.Error("without backend figures (dev) there is no split")
	}
}

func TestTTLIsWhatASystemTakes(t *testing.T) {
	for _, bad := range []string{"10s", "25h", "30500ms"} {
		if _, err := parseFlags([]string{"-ttl", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "-ttl") {
			t.Errorf("-ttl %s: %v", bad, err)
		}
	}
	cfg, err := parseFlags([]string{"-ttl", "30s"}, io.Discard)
	if err != nil || cfg.ttl != 30*time.Second {
		t.Errorf("-ttl 30s: %v %v", cfg.ttl, err)
	}
}
