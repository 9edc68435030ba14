package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestFactorLockouts(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, u := seed(t, s)
		t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		rule := store.LockoutRule{Threshold: 3, BaseWait: time.Minute, MaxWait: 3 * time.Minute, HardLimit: 7}
		n := 0
		check := func(factor string, at time.Time, valid bool) store.CodeOutcome {
			t.Helper()
			n++
			out, err := s.RecordCodeCheck(ctx, store.CodeCheck{
				AttemptID: "a1", Effect: fmt.Sprintf("code:%d", n), UserID: u.ID, Factor: factor, At: at,
				Valid: valid, FailReason: "wrong " + factor, Rule: rule,
				Events: func(o store.CodeOutcome) []store.AuditEvent {
					if o.Valid || o.Refused {
						return nil
					}
					return []store.AuditEvent{{AccountID: acc.ID, Time: at, Type: "code.rejected", AuthID: u.AuthID, AttemptID: "a1"}}
				},
			})
			must(t, err)
			return out
		}

		for i := 1; i <= 2; i++ {
			if out := check(store.FactorPIN, t0, false); out.Failures != i || out.Locked(t0) || out.Refused {
				t.Fatalf("failure %d: %+v", i, out)
			}
		}
		out := check(store.FactorPIN, t0, false)
		if out.Failures != 3 || !out.NewlyLocked || out.LockedUntil == nil || !out.LockedUntil.Equal(t0.Add(time.Minute)) {
			t.Fatalf("third failure: %+v, want locked for a minute", out)
		}
		// Locked: even the right code is not looked at, and nothing counts.
		if out := check(store.FactorPIN, t0.Add(30*time.Second), true); !out.Refused || out.Valid || out.Failures != 3 {
			t.Fatalf("while locked: %+v, want refused", out)
		}
		// Other factors are not locked by the PIN's failures.
		if out := check(store.FactorTOTP, t0.Add(30*time.Second), false); out.Refused || out.Failures != 1 {
			t.Fatalf("totp while the pin is locked: %+v", out)
		}
		// Time does not forget the run: after the wait one more failure locks
		// again, for twice as long, then the wait stops growing at MaxWait.
		at := t0.Add(2 * time.Minute)
		for i, want := range []time.Duration{2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
			out := check(store.FactorPIN, at, false)
			if out.Failures != 4+i || out.LockedUntil == nil || !out.LockedUntil.Equal(at.Add(want)) {
				t.Fatalf("failure %d after waits: %+v, want locked for %s", 4+i, out, want)
			}
			at = out.LockedUntil.Add(time.Second)
		}
		// At the hard limit the lock no longer ends by itself.
		out = check(store.FactorPIN, at, false)
		if out.Failures != 7 || !out.HardLocked || !out.Locked(at.Add(365*24*time.Hour)) {
			t.Fatalf("at the hard limit: %+v", out)
		}
		if out := check(store.FactorPIN, at.Add(48*time.Hour), true); !out.Refused {
			t.Fatalf("hard lock opened by time: %+v", out)
		}
		locks, err := s.FactorLocks(ctx, u.ID)
		must(t, err)
		if len(locks) != 2 || locks[0].Factor != store.FactorPIN || !locks[0].HardLocked || locks[1].Factor != store.FactorTOTP {
			t.Fatalf("locks = %+v", locks)
		}
		// An administrator clears it, audited in the same transaction.
		cleared, err := s.ClearFactorLocks(ctx, u.ID, []string{store.FactorPIN},
			store.AuditEvent{AccountID: acc.ID, Time: at, Type: "user.lockout_cleared", AuthID: u.AuthID})
		must(t, err)
		if cleared != 1 {
			t.Fatalf("cleared %d, want 1", cleared)
		}
		if out := check(store.FactorPIN, at, true); !out.Valid {
			t.Fatalf("after clearing: %+v, want valid", out)
		}
		// A success with a factor ends that factor's run.
		must(t, s.RecordLogin(ctx, u.ID, "", store.FactorTOTP, at))
		if locks, _ := s.FactorLocks(ctx, u.ID); len(locks) != 0 {
			t.Fatalf("after a totp login: %+v, want no runs", locks)
		}
		rejected, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "code.rejected"})
		must(t, err)
		if len(rejected) != 8 {
			t.Fatalf("%d code.rejected events, want 8 (one per counted failure)", len(rejected))
		}
	})
}

func TestCodeCheckSpendsCodesOnce(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, u := seed(t, s)
		now := time.Now().UTC()
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, []store.RecoveryCode{{ID: "r1", UserID: u.ID, Digest: "d", CreatedAt: now}}))
		rule := store.LockoutRule{Threshold: 5, BaseWait: time.Minute, MaxWait: time.Hour, HardLimit: 100}
		step := int64(1000)
		cases := []struct {
			name   string
			effect string
			check  store.CodeCheck
			valid  bool
			fails  int
		}{
			{"a fresh totp step signs in", "e1", store.CodeCheck{Factor: store.FactorTOTP, Valid: true, TOTPStep: &step}, true, 0},
			{"the same check run again answers the same", "e1", store.CodeCheck{Factor: store.FactorTOTP, Valid: true, TOTPStep: &step}, true, 0},
			{"the same step in another check is spent", "e2", store.CodeCheck{Factor: store.FactorTOTP, Valid: true, TOTPStep: &step}, false, 1},
			{"a recovery code signs in once", "e3", store.CodeCheck{Factor: store.FactorRecovery, Valid: true, RecoveryCodeID: "r1"}, true, 0},
			{"and not twice", "e4", store.CodeCheck{Factor: store.FactorRecovery, Valid: true, RecoveryCodeID: "r1"}, false, 1},
		}
		for _, tc := range cases {
			c := tc.check
			c.AttemptID, c.Effect, c.UserID, c.At, c.Rule = "a1", tc.effect, u.ID, now, rule
			out, err := s.RecordCodeCheck(ctx, c)
			must(t, err)
			if out.Valid != tc.valid || out.Failures != tc.fails {
				t.Errorf("%s: %+v, want valid=%v failures=%d", tc.name, out, tc.valid, tc.fails)
			}
		}
	})
}

// TestCodeCheckPublishesOnValid: a right code checked with OnValid ends
// its attempt with the check, the user's login and the factor's run of
// failures included, once however often the check runs; a wrong code
// publishes nothing, nor does a right one for an attempt that ended.
func TestCodeCheckPublishesOnValid(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, sys, u := seed(t, s)
		now := time.Now().UTC().Truncate(time.Millisecond)
		for _, id := range []string{"a1", "a2"} {
			_, err := s.InsertAttempt(ctx, &store.Attempt{ID: id, AccountID: acc.ID, System: sys.Name, AuthID: u.AuthID,
				WorkflowID: "wf-" + id, State: store.AttemptPending, StartedAt: now, UpdatedAt: now})
			must(t, err)
		}
		must(t, func() error {
			_, err := s.PublishAttempt(ctx, "a2", store.AttemptUpdate{State: store.AttemptExpired, At: now})
			return err
		}())
		check := func(attempt, effect string, valid bool) store.CodeOutcome {
			t.Helper()
			out, err := s.RecordCodeCheck(ctx, store.CodeCheck{
				AttemptID: attempt, Effect: effect, UserID: u.ID, Factor: store.FactorPIN, At: now,
				Valid: valid, FailReason: "wrong pin", Rule: store.LockoutRule{Threshold: 5, BaseWait: time.Minute, MaxWait: time.Hour},
				OnValid: &store.Publication{
					Update: store.AttemptUpdate{State: store.AttemptAuthenticated, At: now, LoginUserID: u.ID, LoginIP: "192.0.2.1", LoginFactor: store.FactorPIN},
					Events: []store.AuditEvent{{AccountID: acc.ID, Time: now, Type: "attempt.authenticated", AuthID: u.AuthID, AttemptID: attempt}},
				},
			})
			must(t, err)
			return out
		}
		if out := check("a1", "code:1", false); out.Valid || out.Published || out.Failures != 1 {
			t.Fatalf("wrong code: %+v", out)
		}
		first := check("a1", "code:2", true)
		again := check("a1", "code:2", true)
		if !first.Valid || !first.Published || first.Replayed || !again.Published || !again.Replayed {
			t.Fatalf("right code: %+v, run again %+v", first, again)
		}
		att, err := s.GetAttempt(ctx, "a1")
		must(t, err)
		user, err := s.UserByID(ctx, u.ID)
		must(t, err)
		if att.State != store.AttemptAuthenticated || user.LoginCount != 1 || user.LastIP != "192.0.2.1" {
			t.Fatalf("attempt %s, user logged in %d times from %q", att.State, user.LoginCount, user.LastIP)
		}
		locks, err := s.FactorLocks(ctx, u.ID)
		must(t, err)
		events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "attempt.authenticated"})
		must(t, err)
		if len(locks) != 0 || len(events) != 1 {
			t.Fatalf("after the success: locks %+v, %d authenticated events", locks, len(events))
		}

		if out := check("a2", "code:1", true); !out.Valid || out.Published {
			t.Fatalf("right code for an expired attempt: %+v", out)
		}
		att, err = s.GetAttempt(ctx, "a2")
		must(t, err)
		user, err = s.UserByID(ctx, u.ID)
		must(t, err)
		if att.State != store.AttemptExpired || user.LoginCount != 1 {
			t.Fatalf("expired attempt ended %s, user logged in %d times", att.State, user.LoginCount)
		}
	})
}

// TestConcurrentCodeChecks submits wrong codes at once, as concurrent
// updates of a workflow do, and each check twice, as Temporal may run a
// local activity again: every check counts once, and no more than the
// threshold are counted before the factor locks.
func TestConcurrentCodeChecks(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, u := seed(t, s)
		now := time.Now().UTC()
		rule := store.LockoutRule{Threshold: 5, BaseWait: time.Hour, MaxWait: time.Hour, HardLimit: 100}
		const checks = 7
		outs := make([]store.CodeOutcome, 2*checks)
		errs := make([]error, 2*checks)
		var wg sync.WaitGroup
		for i := range 2 * checks {
			wg.Go(func() {
				outs[i], errs[i] = s.RecordCodeCheck(ctx, store.CodeCheck{
					AttemptID: "a1", Effect: fmt.Sprintf("code:%d", i%checks), UserID: u.ID, Factor: store.FactorPIN,
					At: now, FailReason: "wrong pin", Rule: rule,
					Events: func(o store.CodeOutcome) []store.AuditEvent {
						if o.Refused {
							return nil
						}
						return []store.AuditEvent{{AccountID: acc.ID, Time: now, Type: "code.rejected", AuthID: u.AuthID, AttemptID: "a1"}}
					},
				})
			})
		}
		wg.Wait()
		refused := 0
		for i := range checks {
			if err := errors.Join(errs[i], errs[i+checks]); err != nil {
				t.Fatalf("check %d: %v", i, err)
			}
			if a, b := outs[i], outs[i+checks]; a.Refused != b.Refused || a.Failures != b.Failures || a.Reason != b.Reason {
				t.Errorf("check %d answered %+v, then %+v", i, a, b)
			}
			if outs[i].Refused {
				refused++
			}
		}
		locks, err := s.FactorLocks(ctx, u.ID)
		must(t, err)
		if len(locks) != 1 || locks[0].Failures != 5 {
			t.Fatalf("locks = %+v, want 5 failures", locks)
		}
		if refused != checks-5 {
			t.Errorf("%d checks refused, want %d", refused, checks-5)
		}
		rejected, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "code.rejected"})
		must(t, err)
		if len(rejected) != 5 {
			t.Errorf("%d code.rejected events, want 5", len(rejected))
		}
	})
}

func TestCountAttemptsFilters(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, u := seed(t, s)
		now := time.Now().UTC()
		add := func(id, system, authid, ip string) {
			t.Helper()
			_, err := s.InsertAttempt(ctx, &store.Attempt{ID: id, AccountID: acc.ID, System: system, AuthID: authid,
				WorkflowID: "wf", State: store.AttemptPending, IP: ip, StartedAt: now, UpdatedAt: now})
			must(t, err)
		}
		add("1", "vpn", "alice", "192.0.2.1")
		add("2", "console", "alice", "192.0.2.1")
		add("3", "console", "alice", "198.51.100.9")
		add("4", "console", "bob", "203.0.113.5")
		must(t, s.RecordLogin(ctx, u.ID, "192.0.2.1", "", now)) // alice signed in from 192.0.2.1
		since := now.Add(-time.Minute)
		for _, tc := range []struct {
			name string
			f    store.AttemptCount
			want int
		}{
			{"the account's", store.AttemptCount{}, 4},
			{"a user's", store.AttemptCount{AuthID: "alice"}, 3},
			{"but the console's", store.AttemptCount{AuthID: "alice", NotSystems: []string{"console"}}, 1},
			{"but the console's and another", store.AttemptCount{AuthID: "alice", NotSystems: []string{"console", "vpn"}}, 0},
			{"the console's", store.AttemptCount{System: "console"}, 3},
			{"from an address", store.AttemptCount{AuthID: "alice", System: "console", IP: "192.0.2.1"}, 1},
			{"from addresses the user never signed in from", store.AttemptCount{AuthID: "alice", System: "console", UnknownIPs: true}, 1},
			{"from addresses nobody signed in from", store.AttemptCount{System: "console", UnknownIPs: true}, 2},
			{"none before since", store.AttemptCount{Since: now.Add(time.Minute)}, 0},
		} {
			f := tc.f
			f.AccountID = acc.ID
			if f.Since.IsZero() {
				f.Since = since
			}
			n, err := s.CountAttempts(ctx, f)
			must(t, err)
			if n != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, n, tc.want)
			}
			// In one query with others, and stopping early: AtMost caps
			// the count and never changes a smaller one.
			capped := f
			capped.AtMost = 2
			ns, err := s.CountAttemptsEach(ctx, f, capped)
			must(t, err)
			if want := []int{tc.want, min(tc.want, 2)}; !slices.Equal(ns, want) {
				t.Errorf("%s: CountAttemptsEach = %v, want %v", tc.name, ns, want)
			}
		}
		for _, tc := range []struct {
			authid, ip string
			want       bool
		}{{"alice", "192.0.2.1", true}, {"bob", "192.0.2.1", false}, {"", "192.0.2.1", true}, {"", "203.0.113.5", false}} {
			known, err := s.KnownIPOf(ctx, acc.ID, tc.authid, tc.ip)
			must(t, err)
			if known != tc.want {
				t.Errorf("KnownIPOf(%q, %q) = %v, want %v", tc.authid, tc.ip, known, tc.want)
			}
		}
	})
}
