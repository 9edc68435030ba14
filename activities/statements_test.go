package activities_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/pgtest"
	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &cluster)) }

// TestPINSignInStatements counts the statements (round trips, BEGIN and
// COMMIT included) each activity of a PIN sign-in sends to the database,
// on PostgreSQL and SQLite. The bounds are what the store work of a
// sign-in costs: a change that adds round trips fails here, on purpose.
// The compact shape (workflows.ShapeCompact) checks a right code and
// publishes the success in one transaction, without Finish; the lean one
// runs CheckCode, then Finish.
func TestPINSignInStatements(t *testing.T) {
	for _, compact := range []bool{false, true} {
		dsns := map[string]string{
			"postgres": cluster.NewDatabase(t),
			"sqlite":   filepath.Join(t.TempDir(), "flexauth.db"),
		}
		for name, dsn := range dsns {
			if compact {
				name += "/compact"
			}
			t.Run(name, func(t *testing.T) { pinSignInStatements(t, dsn, compact) })
		}
	}
}

func pinSignInStatements(t *testing.T, dsn string, compact bool) {
	ctx := context.Background()
	// The policy as the worker has it: each account's active
	// version, read from the store.
	st := storetest.Open(t, dsn)
	f := newFixtureOn(t, st, policies.NewRegistry(st), activities.Config{})
	counted := storetest.CountStatements(f.st)
	type bound struct{ statements, transactions int }
	measure := func(call string, max bound, fn func() error) {
		t.Helper()
		counted.Take()
		must(t, fn())
		got := counted.Take()
		t.Logf("%s: %s", call, got)
		if got.Total > max.statements || got.Transactions > max.transactions {
			t.Errorf("%s ran %s, want at most %d statements in %d transactions", call, got, max.statements, max.transactions)
		}
	}

	// The subject's first attempt, left pending; the next Begin
	// supersedes it, the full path of a repeated start.
	// Each begin ends by counting its start for the account-wide limit
	// (an upsert and, first in its second, the sweep of old counts).
	measure("Begin (first attempt)", bound{16, 1}, func() error {
		_, err := f.acts.Begin(ctx, activities.BeginInput{
			Subject:   activities.Subject{AttemptID: "att0", AccountID: "acc", System: "vpn", AuthID: "alice", IP: f.input.IP},
			StartedAt: f.now,
		})
		return err
	})
	f.now = f.now.Add(time.Second)
	var begun activities.BeginResult
	measure("Begin (superseding)", bound{18, 1}, func() (err error) {
		begun, err = f.acts.Begin(ctx, activities.BeginInput{Subject: f.input, WorkflowID: "wf", RunID: "run", StartedAt: f.now})
		return err
	})
	if !begun.Allowed || begun.Method != "pin" {
		t.Fatalf("begin = %+v", begun)
	}
	measure("Begin run again", bound{5, 1}, func() (err error) {
		again, err := f.acts.Begin(ctx, activities.BeginInput{Subject: f.input, WorkflowID: "wf", RunID: "run", StartedAt: f.now})
		if err == nil && !again.Allowed {
			t.Errorf("begin run again = %+v", again)
		}
		return err
	})
	var issued activities.IssueResult
	// IssueChallenge reads the message templates the account and the
	// system set (one indexed SELECT) to render the message it sends.
	measure("IssueChallenge", bound{4, 0}, func() (err error) {
		issued, err = f.acts.IssueChallenge(ctx, activities.IssueInput{
			Subject: f.input, UserID: begun.UserID, Method: begun.Method, ExpiresAt: f.now.Add(begun.TTL),
		})
		return err
	})
	pin := f.sent.sent[len(f.sent.sent)-1].Code
	check := activities.CodeInput{
		Subject: f.input, UserID: begun.UserID, Effect: "code:1", Factor: store.FactorPIN,
		Expected: issued.Digest, Digest: attempt.CodeDigest(f.keys, f.input.AttemptID, pin), MaxAttempts: begun.MaxAttempts,
	}
	if compact {
		check.OnValid = &activities.Conclusion{Reasons: []string{"correct pin"}}
		measure("CheckCode (publishing the success)", bound{11, 1}, func() error {
			res, err := f.acts.CheckCode(ctx, check)
			if err == nil && (!res.Valid || !res.Published) {
				t.Errorf("the delivered pin did not sign in: %+v", res)
			}
			return err
		})
	} else {
		measure("CheckCode", bound{5, 1}, func() error {
			res, err := f.acts.CheckCode(ctx, check)
			if err == nil && !res.Valid {
				t.Errorf("the delivered pin was refused: %+v", res)
			}
			return err
		})
		measure("Finish", bound{8, 1}, func() error {
			return f.acts.Finish(ctx, activities.FinishInput{Subject: f.input, UserID: begun.UserID, State: store.AttemptAuthenticated, Factor: store.FactorPIN})
		})
	}
	row, err := f.st.GetAttempt(ctx, f.input.AttemptID)
	must(t, err)
	if row.State != store.AttemptAuthenticated {
		t.Fatalf("attempt ended %s", row.State)
	}
}

// BenchmarkPINSignInStore runs the activities of whole PIN sign-ins (Begin
// superseding the subject's previous attempt, IssueChallenge, CheckCode,
// Finish) against PostgreSQL: the store's share of a sign-in's cost.
func BenchmarkPINSignInStore(b *testing.B) { benchmarkPINSignIns(b, false) }

// BenchmarkCompactPINSignInStore is BenchmarkPINSignInStore for the
// compact shape: Begin, IssueChallenge, then CheckCode publishing the
// success.
func BenchmarkCompactPINSignInStore(b *testing.B) { benchmarkPINSignIns(b, true) }

func benchmarkPINSignIns(b *testing.B, compact bool) {
	f := newFixtureOn(b, storetest.Open(b, cluster.NewDatabase(b)), nil,
		activities.Config{Limits: admission.Limits{UserStarts: -1, AccountStarts: -1}})
	ctx := context.Background()
	b.ReportAllocs()
	// CPU is what the store work costs on a shared machine, where wall
	// time mostly measures the neighbours: this process's, and that of
	// the PostgreSQL backends serving it (when they run here).
	pgBefore := backendCPU(b, f.st)
	var self0 syscall.Rusage
	must(b, syscall.Getrusage(syscall.RUSAGE_SELF, &self0))
	for i := 0; b.Loop(); i++ {
		f.now = f.now.Add(time.Second)
		s := f.input
		s.AttemptID = fmt.Sprint("bench-", i)
		in := activities.BeginInput{Subject: s, WorkflowID: "wf", RunID: "run", StartedAt: f.now}
		var issued activities.IssueResult
		begun, err := f.acts.Begin(ctx, in)
		if err != nil || !begun.Allowed {
			b.Fatalf("begin = %+v, %v", begun, err)
		}
		if issued, err = f.acts.IssueChallenge(ctx, activities.IssueInput{Subject: s, UserID: begun.UserID, Method: begun.Method, ExpiresAt: f.now.Add(begun.TTL)}); err != nil {
			b.Fatal(err)
		}
		pin := f.sent.sent[len(f.sent.sent)-1].Code
		check := activities.CodeInput{Subject: s, UserID: begun.UserID, Effect: "code:1", Factor: store.FactorPIN,
			Expected: issued.Digest, Digest: attempt.CodeDigest(f.keys, s.AttemptID, pin), MaxAttempts: begun.MaxAttempts}
		if compact {
			check.OnValid = &activities.Conclusion{Reasons: []string{"correct pin"}}
		}
		res, err := f.acts.CheckCode(ctx, check)
		if err != nil || !res.Valid || res.Published != compact {
			b.Fatalf("check = %+v, %v", res, err)
		}
		if compact {
			continue
		}
		if err := f.acts.Finish(ctx, activities.FinishInput{Subject: s, UserID: begun.UserID, State: store.AttemptAuthenticated, Factor: store.FactorPIN}); err != nil {
			b.Fatal(err)
		}
	}
	var self1 syscall.Rusage
	must(b, syscall.Getrusage(syscall.RUSAGE_SELF, &self1))
	cpu := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	perOp := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	b.ReportMetric(perOp(cpu(self1)-cpu(self0)), "self-cpu-ms/op")
	if pgAfter := backendCPU(b, f.st); pgAfter != nil {
		var used time.Duration
		for pid, t := range pgAfter {
			used += t - pgBefore[pid]
		}
		b.ReportMetric(perOp(used), "pg-cpu-ms/op")
	}
}

// backendCPU is the CPU time of each PostgreSQL backend connected to st's
// database, read from /proc; nil when the server runs elsewhere.
func backendCPU(b *testing.B, st *store.Store) map[int]time.Duration {
	var pids []int
	err := st.DB().NewRaw("SELECT pid FROM pg_stat_activity WHERE datname = current_database()").Scan(context.Background(), &pids)
	must(b, err)
	ticks := map[int]time.Duration{}
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		// Fields after the command's closing parenthesis; utime and stime
		// are the 14th and 15th of the line, in ticks of 1/100 s.
		fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		utime, _ := strconv.Atoi(fields[11])
		stime, _ := strconv.Atoi(fields[12])
		ticks[pid] = time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return ticks
}

// TestConcurrentBeginsDoNotWaitForEachOthersConnections runs more begins
// at once than the pool has connections (10 on PostgreSQL, 4 on SQLite).
// Each holds one for its transaction; a read on another connection inside
// it (the policy's active version, say) would wait for connections the
// others hold, and they for it.
func TestConcurrentBeginsDoNotWaitForEachOthersConnections(t *testing.T) {
	dsns := map[string]string{
		"postgres": cluster.NewDatabase(t),
		"sqlite":   filepath.Join(t.TempDir(), "flexauth.db"),
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) { concurrentBegins(t, storetest.Open(t, dsn)) })
	}
}

func concurrentBegins(t *testing.T, st *store.Store) {
	f := newFixtureOn(t, st, policies.NewRegistry(st), activities.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 40 // the pool has 10
	for i := range n {
		u := store.User{ID: fmt.Sprint("cu", i), AccountID: "acc", AuthID: fmt.Sprint("user", i), Email: "u@example.com",
			Status: store.UserActive, CreatedAt: f.now, UpdatedAt: f.now}
		must(t, st.CreateUser(ctx, &u))
		must(t, st.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: "s1", Method: "pin"}}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			s := activities.Subject{AttemptID: fmt.Sprint("c", i), AccountID: "acc", System: "vpn", AuthID: fmt.Sprint("user", i), IP: f.input.IP}
			res, err := f.acts.Begin(ctx, activities.BeginInput{Subject: s, WorkflowID: "wf", RunID: "run", StartedAt: f.now})
			if err == nil && !res.Allowed {
				err = fmt.Errorf("begin of %s denied: %v", s.AuthID, res.Reasons)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
}
