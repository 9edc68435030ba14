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
	Method       string  `json:"method,omitempty"`
	TargetRate   float64 `json:"target_rate,omitempty"`
	AchievedRate float64 `json:"achieved_rate,omitempty"`
	// EnrolmentSeconds is how long enrolling every user in TOTP took
	// (method totp); CreationSeconds how long starting the pending
	// attempts took, StartsPerSecond their rate and StartErrors the
	// starts that failed.
	EnrolmentSeconds *float64 `json:"totp_enrolment_seconds,omitempty"`
	CreationSeconds  float64  `json:"creation_seconds,omitempty"`
	StartsPerSecond  float64  `json:"starts_per_second,omitempty"`
	StartErrors      int      `json:"start_errors,omitempty"`
	// RSSByPending is every component's memory as the pending attempts
	// grow: how the memory scales with them.
	RSSByPending []rssStep `json:"rss_by_pending,omitempty"`

	// LatencyMS has p50, p90, p99 and max of start, check (each call)
	// and the whole sign-in.
	LatencyMS map[string]percentiles `json:"latency_ms"`
	Errors    map[string]int         `json:"errors"`
	// ErrorExamples are the first few errors' details.
	ErrorExamples []string `json:"error_examples,omitempty"`

	HistoryEventsPerSignIn *float64 `json:"history_events_per_sign_in,omitempty"`
	// HistoryEventsPerPending (mode check) is the history so far of a
	// pending attempt: what a worker replays when the attempt moves
	// after leaving its workflow cache.
	HistoryEventsPerPending *float64 `json:"history_events_per_pending_attempt,omitempty"`
	HistorySampled          int      `json:"history_sampled,omitempty"`
	// SignInsAfter (method totp) is the sample of pending attempts signed
	// in with their code after the window.
	SignInsAfter *sampleSignIns `json:"sign_ins_after,omitempty"`

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
	// PostgresCPUmsPerOp splits postgres's CPU-ms per operation by the
	// database its backends serve: flexauth, temporal, temporal_visibility,
	// and "other" for the rest (background processes such as the WAL
	// writer, this program's own reads, and backends that ended within
	// the window). Absent for dev.
	PostgresCPUmsPerOp map[string]float64 `json:"postgres_cpu_ms_per_operation,omitempty"`
	// RSSMiB is each component's resident memory at the end of the
	// window: the VmRSS of its own processes (without plugins), for
	// postgres the PSS of the postmaster and every backend (shared
	// buffers counted once).
	RSSMiB map[string]float64 `json:"rss_mib"`
	// PeakRSSMiB is the largest of the same, sampled once a second, by
	// phase ("creation": while mode check starts its attempts;
	// "measured": the window) then component.
	PeakRSSMiB map[string]map[string]float64 `json:"peak_rss_mib,omitempty"`
}

// sampleSignIns is how a sample of pending attempts ended when their
// code was submitted: Evicted of them had left the workers' workflow
// caches (started before the last cache-full), and the latencies of the
// check that carried the code are apart for them (their workflow is
// replayed first) and for the cached ones.
type sampleSignIns struct {
	Sampled          int         `json:"sampled"`
	Evicted          int         `json:"evicted"`
	Authenticated    int         `json:"authenticated"`
	EvictedLatencyMS percentiles `json:"evicted_latency_ms"`
	CachedLatencyMS  percentiles `json:"cached_latency_ms"`
	Failures         []string    `json:"failures,omitempty"`
}

// rssStep is the memory when Pending attempts had started, Seconds after
// the first start.
type rssStep struct {
	Pending int                `json:"pending"`
	Seconds float64            `json:"seconds"`
	MiB     map[string]float64 `json:"rss_mib"`
}

// mib converts KiB by component to MiB.
func mib(kib map[string]int64) map[string]float64 {
	out := make(map[string]float64, len(kib))
	for name, v := range kib {
		out[name] = float64(v) / 1024
	}
	return out
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
		CPUmsPerOp: map[string]float64{}, CPUPercent: map[string]float64{},
	}
	rep.RSSMiB = mib(last.rssKiB)
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
	rep.PostgresCPUmsPerOp = postgresByDatabase(first, last, rep.CPUmsPerOp["postgres"])
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
		r.PostgresCPUmsPerOp = nil
		r.PGTransactionsPerOp, r.PGNewConnectionsPerOp = nil, nil
		return
	}
	for name := range r.CPUmsPerOp {
		r.CPUmsPerOp[name] /= float64(n)
	}
	for name := range r.PostgresCPUmsPerOp {
		r.PostgresCPUmsPerOp[name] /= float64(n)
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
		fmt.Fprintf(tw, "polls of check\t%d answered 202, %.0f/s of %.0f/s asked, over %d pending %s attempts\n", r.Operations, r.AchievedRate, r.TargetRate, r.Pending, r.Method)
		if r.EnrolmentSeconds != nil {
			fmt.Fprintf(tw, "TOTP enrolment\t%.0fs for %d users (%.0f/s)\n", *r.EnrolmentSeconds, r.Pending, float64(r.Pending) / *r.EnrolmentSeconds)
		}
		fmt.Fprintf(tw, "attempts started\t%d in %.0fs, %.1f/s (%d starts failed)\n", r.Pending, r.CreationSeconds, r.StartsPerSecond, r.StartErrors)
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
	if r.HistoryEventsPerPending != nil {
		fmt.Fprintf(tw, "history events per pending attempt\t%.1f (average of %d workflows)\n", *r.HistoryEventsPerPending, r.HistorySampled)
	}
	if a := r.SignInsAfter; a != nil {
		fmt.Fprintf(tw, "codes submitted after\t%d authenticated of %d; check with the code ms: %d evicted from the workflow cache p50 %.1f max %.1f, %d cached p50 %.1f max %.1f\n",
			a.Authenticated, a.Sampled, a.Evicted, a.EvictedLatencyMS.P50, a.EvictedLatencyMS.Max,
			a.Sampled-a.Evicted, a.CachedLatencyMS.P50, a.CachedLatencyMS.Max)
		for _, f := range a.Failures[:min(3, len(a.Failures))] {
			fmt.Fprintf(tw, "  e.g.\t%s\n", strings.TrimSpace(f))
		}
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
	if len(r.PostgresCPUmsPerOp) > 0 {
		fmt.Fprintf(tw, "\npostgres by database\tms per %s\n", r.Operation)
		for _, name := range []string{"flexauth", "temporal", "temporal_visibility", "other"} {
			fmt.Fprintf(tw, "%s\t%.2f\n", name, r.PostgresCPUmsPerOp[name])
		}
	}
	r.printMemory(tw)
}

// postgresByDatabase is the window's postgres CPU (ms, total) by database
// label: each backend alive at the end counts what it used since the first
// snapshot (all of it when it started later); what no such backend used
// is "other".
func postgresByDatabase(first, last snapshot, totalMS float64) map[string]float64 {
	if last.pgCPU == nil {
		return nil
	}
	out := map[string]float64{"flexauth": 0, "temporal": 0, "temporal_visibility": 0}
	var known float64
	for b, after := range last.pgCPU {
		ms := float64((after-first.pgCPU[b])*int64(clockTick)) / float64(time.Millisecond)
		out[b.label] += ms
		known += ms
	}
	out["other"] = max(0, totalMS-known)
	return out
}

// printMemory writes the memory tables: at the end, at the peaks, and as
// the pending attempts grew.
func (r *report) printMemory(tw io.Writer) {
	names := slices.Sorted(maps.Keys(r.RSSMiB))
	phases := slices.DeleteFunc([]string{"creation", "measured"}, func(p string) bool { return r.PeakRSSMiB[p] == nil })
	fmt.Fprintf(tw, "\nresident memory MiB\tend")
	for _, p := range phases {
		fmt.Fprintf(tw, "\tpeak %s", p)
	}
	fmt.Fprintln(tw)
	for _, name := range names {
		fmt.Fprintf(tw, "%s\t%.0f", name, r.RSSMiB[name])
		for _, p := range phases {
			fmt.Fprintf(tw, "\t%.0f", r.PeakRSSMiB[p][name])
		}
		fmt.Fprintln(tw)
	}
	if len(r.RSSByPending) == 0 {
		return
	}
	fmt.Fprintf(tw, "\nMiB by pending\tafter s\t%s\n", strings.Join(names, "\t"))
	for _, s := range r.RSSByPending {
		fmt.Fprintf(tw, "%d\t%.0f", s.Pending, s.Seconds)
		for _, name := range names {
			fmt.Fprintf(tw, "\t%.0f", s.MiB[name])
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "(postgres: PSS of the postmaster and every backend; others: VmRSS of their own processes)")
}
