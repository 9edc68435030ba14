package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what a run measured, over the window after the warm-up.
type report struct {
	Mode           string  `json:"mode"`
	Target         string  `json:"target"`
	Concurrency    int     `json:"concurrency,omitempty"`
	APIs           int     `json:"api_replicas"`
	Workers        int     `json:"worker_replicas,omitempty"`
	WarmupSeconds  float64 `json:"warmup_seconds"`
	MeasureSeconds float64 `json:"measured_seconds"`

	// Operations is the sign-ins completed (mode signin) or polls
	// answered (mode check) in the window.
	Operations       int     `json:"operations"`
	Operation        string  `json:"operation"`
	SignInsPerSecond float64 `json:"sign_ins_per_second,omitempty"`
	// Mode check.
	Pending      int     `json:"pending,omitempty"`
	TargetRate   float64 `json:"target_rate,omitempty"`
	AchievedRate float64 `json:"achieved_rate,omitempty"`

	// LatencyMS has p50, p90, p99 and max of start, check (each call)
	// and the whole sign-in.
	LatencyMS map[string]percentiles `json:"latency_ms"`
	Errors    map[string]int         `json:"errors"`
	// ErrorExamples are the first few errors' details.
	ErrorExamples []string `json:"error_examples,omitempty"`

	HistoryEventsPerSignIn *float64 `json:"history_events_per_sign_in,omitempty"`
	HistorySampled         int      `json:"history_sampled,omitempty"`

	// PostgreSQL, from pg_stat_database over all databases (absent for
	// dev).
	PGTransactionsPerOp    *float64 `json:"pg_transactions_per_operation,omitempty"`
	PGNewConnectionsPerOp  *float64 `json:"pg_new_connections_per_operation,omitempty"`
	PGTransactionsPerSec   *float64 `json:"pg_transactions_per_second,omitempty"`
	PGNewConnectionsPerSec *float64 `json:"pg_new_connections_per_second,omitempty"`

	// CPUmsPerOp is CPU-ms per operation by process (each with its
	// children), "total" their sum without "bench" (this program, the
	// load generator, which shares the machine); CPUPercent is the same
	// as a share of one core.
	CPUmsPerOp map[string]float64 `json:"cpu_ms_per_operation"`
	CPUPercent map[string]float64 `json:"cpu_percent"`
	// RSSMiB is each component's resident memory at the end of the
	// window (its own processes, without plugins or backends).
	RSSMiB map[string]float64 `json:"rss_mib"`
}

type percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func percentilesOf(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p := func(q float64) float64 { return ms(ds[int(q*float64(len(ds)-1))]) }
	return percentiles{N: len(ds), P50: p(0.50), P90: p(0.90), P99: p(0.99), Max: ms(ds[len(ds)-1])}
}

func newReport(cfg config, st *stack, rec *recorder, first, last snapshot) *report {
	rep := &report{
		Mode: cfg.mode, Target: cfg.target, APIs: len(st.apis),
		WarmupSeconds: cfg.warmup.Seconds(), MeasureSeconds: last.at.Sub(first.at).Seconds(),
		LatencyMS: map[string]percentiles{}, Errors: rec.errors, ErrorExamples: rec.examples,
		CPUmsPerOp: map[string]float64{}, CPUPercent: map[string]float64{}, RSSMiB: map[string]float64{},
	}
	for name, kib := range last.rssKiB {
		rep.RSSMiB[name] = float64(kib) / 1024
	}
	if cfg.mode == "signin" && cfg.signInRate > 0 {
		rep.TargetRate = cfg.signInRate
	} else if cfg.mode == "signin" {
		rep.Concurrency = cfg.concurrency
	}
	if cfg.target == "production" {
		rep.Workers = cfg.workerReplicas
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rep.Operations = rec.completed
	for name, ds := range map[string][]time.Duration{"start": rec.start, "check": rec.check, "sign-in": rec.signIn} {
		if len(ds) > 0 {
			rep.LatencyMS[name] = percentilesOf(ds)
		}
	}
	secs := rep.MeasureSeconds
	for name, after := range last.cpu {
		ms := float64((after-first.cpu[name])*int64(clockTick)) / float64(time.Millisecond)
		rep.CPUPercent[name] = ms / 10 / secs
		rep.CPUmsPerOp[name] = ms // divided by perOperation
	}
	if first.pgOK && last.pgOK {
		x := float64(last.xacts - first.xacts)
		xs := x / secs
		rep.PGTransactionsPerOp, rep.PGTransactionsPerSec = &x, &xs // divided by perOperation
	}
	if first.sessionsOK && last.sessionsOK {
		s := float64(last.sessions - first.sessions)
		ss := s / secs
		rep.PGNewConnectionsPerOp, rep.PGNewConnectionsPerSec = &s, &ss // divided by perOperation
	}
	return rep
}

// perOperation turns the window's totals into figures per operation.
func (r *report) perOperation(n int, operation string) {
	r.Operation = operation
	var total float64
	for name, ms := range r.CPUmsPerOp {
		if name != "bench" {
			total += ms
		}
	}
	r.CPUmsPerOp["total"] = total
	var pct float64
	for name, p := range r.CPUPercent {
		if name != "bench" {
			pct += p
		}
	}
	r.CPUPercent["total"] = pct
	if n == 0 {
		clear(r.CPUmsPerOp)
		r.PGTransactionsPerOp, r.PGNewConnectionsPerOp = nil, nil
		return
	}
	for name := range r.CPUmsPerOp {
		r.CPUmsPerOp[name] /= float64(n)
	}
	for _, v := range []**float64{&r.PGTransactionsPerOp, &r.PGNewConnectionsPerOp} {
		if *v != nil {
			per := **v / float64(n)
			*v = &per
		}
	}
}

// print writes the report as a table.
func (r *report) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	processes := fmt.Sprintf("%d api, %d worker", r.APIs, r.Workers)
	if r.Target == "dev" {
		processes = "flexauth dev"
	}
	fmt.Fprintf(tw, "flexauth %s benchmark, target %s (%s); %.0fs warm-up, %.1fs measured\n",
		r.Mode, r.Target, processes, r.WarmupSeconds, r.MeasureSeconds)
	switch r.Mode {
	case "signin":
		if r.TargetRate > 0 {
			fmt.Fprintf(tw, "sign-ins\t%d completed, %.1f/s of %.1f/s started (open loop)\n", r.Operations, r.SignInsPerSecond, r.TargetRate)
		} else {
			fmt.Fprintf(tw, "sign-ins\t%d completed, %.1f/s at %d in flight\n", r.Operations, r.SignInsPerSecond, r.Concurrency)
		}
	case "check":
		fmt.Fprintf(tw, "polls of check\t%d answered 202, %.0f/s of %.0f/s asked, over %d pending attempts\n", r.Operations, r.AchievedRate, r.TargetRate, r.Pending)
	}
	fmt.Fprintf(tw, "\nlatency ms\tn\tp50\tp90\tp99\tmax\n")
	for _, name := range []string{"start", "check", "sign-in"} {
		if p, ok := r.LatencyMS[name]; ok {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", name, p.N, p.P50, p.P90, p.P99, p.Max)
		}
	}
	fmt.Fprintln(tw)
	if len(r.Errors) == 0 {
		fmt.Fprintln(tw, "errors\tnone")
	}
	for _, kind := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(tw, "errors\t%d × %s\n", r.Errors[kind], kind)
	}
	for _, e := range r.ErrorExamples {
		fmt.Fprintf(tw, "  e.g.\t%s\n", strings.TrimSpace(e))
	}
	if r.Target == "dev" {
		fmt.Fprintln(tw, "history events, postgres\tnot measured for dev")
	}
	if r.HistoryEventsPerSignIn != nil {
		fmt.Fprintf(tw, "history events per sign-in\t%.1f (average of %d workflows)\n", *r.HistoryEventsPerSignIn, r.HistorySampled)
	}
	if r.PGTransactionsPerOp != nil {
		fmt.Fprintf(tw, "postgres transactions\t%.1f per %s, %.0f/s\n", *r.PGTransactionsPerOp, r.Operation, *r.PGTransactionsPerSec)
	}
	if r.PGNewConnectionsPerOp != nil {
		fmt.Fprintf(tw, "postgres new connections\t%.2f per %s, %.1f/s\n", *r.PGNewConnectionsPerOp, r.Operation, *r.PGNewConnectionsPerSec)
	}
	fmt.Fprintf(tw, "\nCPU by process\tms per %s\t%% of a core\n", r.Operation)
	names := slices.DeleteFunc(slices.Sorted(maps.Keys(r.CPUPercent)), func(n string) bool { return n == "total" || n == "bench" })
	for _, name := range append(names, "total", "bench") {
		per := "-"
		if ms, ok := r.CPUmsPerOp[name]; ok {
			per = fmt.Sprintf("%.2f", ms)
		}
		label := name
		if name == "bench" {
			label = "(bench client)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\n", label, per, r.CPUPercent[name])
	}
	fmt.Fprintf(tw, "\nresident memory\tMiB\n")
	for _, name := range slices.Sorted(maps.Keys(r.RSSMiB)) {
		fmt.Fprintf(tw, "%s\t%.0f\n", name, r.RSSMiB[name])
	}
}
