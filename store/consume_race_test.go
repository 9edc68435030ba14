package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// The race tests below spend each one-time secret from many goroutines at
// once, on PostgreSQL (whose transactions really run side by side; SQLite
// serialises writers), in the manner of Ory Kratos's one-time-code tests:
// exactly one consumer may win, every other gets the documented refusal,
// and the counters and audit trail agree with one use. Each round spends a
// fresh secret, so a lucky interleaving in one round is not the whole test.
const (
	racers = 12 // more than the store's connection pool: some wait for one
	rounds = 5
)

// racePostgres is a fresh migrated store on PostgreSQL.
func racePostgres(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, cluster.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	must(t, s.Migrate(ctx))
	return s
}

// race calls consume from n goroutines released together and returns what
// each call answered, by index.
func race[T any](n int, consume func(i int) (T, error)) ([]T, []error) {
	outs := make([]T, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range n {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			outs[i], errs[i] = consume(i)
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	return outs, errs
}

// winners counts the consumers that won, failing on any unexpected error.
func winners[T any](t *testing.T, outs []T, errs []error, won func(T) bool) int {
	t.Helper()
	n := 0
	for i, o := range outs {
		if errs[i] != nil {
			t.Fatalf("consumer %d: %v", i, errs[i])
		}
		if won(o) {
			n++
		}
	}
	return n
}

// countAudit counts the account's events of type typ.
func countAudit(t *testing.T, s *store.Store, accountID, typ string) int {
	t.Helper()
	n, err := s.DB().NewSelect().Model((*store.AuditEvent)(nil)).
		Where("account_id = ? AND type = ?", accountID, typ).Count(context.Background())
	must(t, err)
	return int(n)
}

// codeCheckEvents audits a code check as the activities do: accepted or
// rejected.
func codeCheckEvents(accountID, authID, attemptID string, at time.Time) func(store.CodeOutcome) []store.AuditEvent {
	return func(o store.CodeOutcome) []store.AuditEvent {
		typ := "code.rejected"
		if o.Valid {
			typ = "code.accepted"
		}
		return []store.AuditEvent{{AccountID: accountID, Time: at, Type: typ, AuthID: authID, AttemptID: attemptID}}
	}
}

// TestRaceRecoveryCodeIsSpentOnce: one recovery code submitted by many
// sign-ins at once (a stolen code replayed while its owner uses it) signs
// in once; every other check is "recovery code already used", counted as
// a failure and audited as a rejection.
func TestRaceRecoveryCodeIsSpentOnce(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	acc, _, u := seed(t, s)
	now := time.Now().UTC()
	codes := make([]store.RecoveryCode, rounds)
	for r := range codes {
		codes[r] = store.RecoveryCode{ID: fmt.Sprintf("rc-%d", r), UserID: u.ID, Digest: fmt.Sprintf("d-%d", r), CreatedAt: now}
	}
	must(t, s.ReplaceRecoveryCodes(ctx, u.ID, codes))
	for r, code := range codes {
		outs, errs := race(racers, func(i int) (store.CodeOutcome, error) {
			attempt := fmt.Sprintf("a-%d-%d", r, i)
			return s.RecordCodeCheck(ctx, store.CodeCheck{
				AttemptID: attempt, Effect: "code:1", UserID: u.ID, Factor: store.FactorRecovery, At: now,
				Valid: true, RecoveryCodeID: code.ID, Rule: store.LockoutRule{},
				Events: codeCheckEvents(acc.ID, u.AuthID, attempt, now),
			})
		})
		if n := winners(t, outs, errs, func(o store.CodeOutcome) bool { return o.Valid }); n != 1 {
			t.Fatalf("round %d: %d checks spent the code, want 1", r, n)
		}
		for i, o := range outs {
			if !o.Valid && (o.Refused || o.Reason != "recovery code already used") {
				t.Errorf("round %d, consumer %d: %+v, want refused as already used", r, i, o)
			}
		}
		left, err := s.CountUnusedRecoveryCodes(ctx, u.ID)
		must(t, err)
		if left != rounds-r-1 {
			t.Fatalf("round %d: %d unused codes, want %d", r, left, rounds-r-1)
		}
	}
	if n := countAudit(t, s, acc.ID, "code.accepted"); n != rounds {
		t.Errorf("%d code.accepted events, want %d", n, rounds)
	}
	if n := countAudit(t, s, acc.ID, "code.rejected"); n != rounds*(racers-1) {
		t.Errorf("%d code.rejected events, want %d", n, rounds*(racers-1))
	}
	locks, err := s.FactorLocks(ctx, u.ID)
	must(t, err)
	if len(locks) != 1 || locks[0].Failures != rounds*(racers-1) {
		t.Errorf("factor locks = %+v, want %d recovery failures", locks, rounds*(racers-1))
	}
}

// TestRaceUseRecoveryCode: the direct spend (an administrator's path)
// is won once, with its audit event once.
func TestRaceUseRecoveryCode(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	acc, _, u := seed(t, s)
	now := time.Now().UTC()
	for r := range rounds {
		id := fmt.Sprintf("rc-%d", r)
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, []store.RecoveryCode{{ID: id, UserID: u.ID, Digest: "d", CreatedAt: now}}))
		outs, errs := race(racers, func(int) (bool, error) {
			return s.UseRecoveryCode(ctx, id, now, store.AuditEvent{AccountID: acc.ID, Time: now, Type: "recovery.used", AuthID: u.AuthID})
		})
		if n := winners(t, outs, errs, func(used bool) bool { return used }); n != 1 {
			t.Fatalf("round %d: %d uses of one code, want 1", r, n)
		}
	}
	if n := countAudit(t, s, acc.ID, "recovery.used"); n != rounds {
		t.Errorf("%d recovery.used events, want %d", n, rounds)
	}
}

// TestRaceTOTPStepIsSpentOnce: one TOTP code (one time step) submitted by
// many sign-ins at once signs in once; the others are "totp code already
// used". Later steps are fresh: each round moves on by one step.
func TestRaceTOTPStepIsSpentOnce(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	acc, _, u := seed(t, s)
	now := time.Now().UTC()
	for r := range rounds {
		step := int64(1000 + r)
		outs, errs := race(racers, func(i int) (store.CodeOutcome, error) {
			attempt := fmt.Sprintf("a-%d-%d", r, i)
			return s.RecordCodeCheck(ctx, store.CodeCheck{
				AttemptID: attempt, Effect: "code:1", UserID: u.ID, Factor: store.FactorTOTP, At: now,
				Valid: true, TOTPStep: &step, Rule: store.LockoutRule{},
				Events: codeCheckEvents(acc.ID, u.AuthID, attempt, now),
			})
		})
		if n := winners(t, outs, errs, func(o store.CodeOutcome) bool { return o.Valid }); n != 1 {
			t.Fatalf("round %d: step %d signed in %d times, want 1", r, step, n)
		}
		for i, o := range outs {
			if !o.Valid && (o.Refused || o.Reason != "totp code already used") {
				t.Errorf("round %d, consumer %d: %+v, want refused as already used", r, i, o)
			}
		}
		got, err := s.UserByID(ctx, u.ID)
		must(t, err)
		if got.TOTPLastStep != step {
			t.Fatalf("round %d: last step %d, want %d", r, got.TOTPLastStep, step)
		}
	}
	if n := countAudit(t, s, acc.ID, "code.accepted"); n != rounds {
		t.Errorf("%d code.accepted events, want %d", n, rounds)
	}
	if n := countAudit(t, s, acc.ID, "code.rejected"); n != rounds*(racers-1) {
		t.Errorf("%d code.rejected events, want %d", n, rounds*(racers-1))
	}
}

// TestRaceUseTOTPStep: codes of neighbouring steps (the server accepts
// one either side of its own) used at once: each step wins at most once,
// the latest wins exactly once, and it is the step recorded.
func TestRaceUseTOTPStep(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	_, _, u := seed(t, s)
	const steps = 3
	for r := range rounds {
		base := int64(2000 + 10*r)
		outs, errs := race(racers, func(i int) (bool, error) { return s.UseTOTPStep(ctx, u.ID, base+int64(i%steps)) })
		wins := map[int64]int{}
		for i, ok := range outs {
			if errs[i] != nil {
				t.Fatalf("round %d, consumer %d: %v", r, i, errs[i])
			}
			if ok {
				wins[base+int64(i%steps)]++
			}
		}
		latest := base + steps - 1
		for step, n := range wins {
			if n > 1 {
				t.Fatalf("round %d: step %d used %d times, want once at most", r, step, n)
			}
		}
		if wins[latest] != 1 {
			t.Fatalf("round %d: the latest step %d used %d times, want 1", r, latest, wins[latest])
		}
		got, err := s.UserByID(ctx, u.ID)
		must(t, err)
		if got.TOTPLastStep != latest {
			t.Fatalf("round %d: last step %d, want %d", r, got.TOTPLastStep, latest)
		}
	}
}

// TestRaceSSOStateIsConsumedOnce: a provider's callback replayed at once
// (the browser's retry, or an attacker holding the redirect) is taken
// once; the sealed sign-on kept is the winner's.
func TestRaceSSOStateIsConsumedOnce(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	acc, _, _ := seed(t, s)
	now := time.Now().UTC()
	for r := range rounds {
		att := store.Attempt{ID: fmt.Sprintf("sso-%d", r), AccountID: acc.ID, System: "vpn", AuthID: "alice", WorkflowID: "wf", RunID: "run",
			State: store.AttemptPending, Method: "sso", StartedAt: now, UpdatedAt: now}
		_, err := s.InsertAttempt(ctx, &att)
		must(t, err)
		digest := fmt.Sprintf("state-%d", r)
		set, err := s.SetSSOAuthorization(ctx, att.ID, digest, []byte("request"))
		must(t, err)
		if !set {
			t.Fatal("a pending attempt took no sign-on request")
		}
		outs, errs := race(racers, func(i int) (bool, error) {
			return s.ConsumeSSOState(ctx, att.ID, digest, fmt.Appendf(nil, "code-%d", i))
		})
		if n := winners(t, outs, errs, func(ok bool) bool { return ok }); n != 1 {
			t.Fatalf("round %d: the state was consumed %d times, want 1", r, n)
		}
		winner := 0
		for i, ok := range outs {
			if ok {
				winner = i
			}
		}
		got, err := s.GetAttempt(ctx, att.ID)
		must(t, err)
		if got.SSOStateDigest != "" || string(got.SSOSealed) != fmt.Sprintf("code-%d", winner) {
			t.Fatalf("round %d: attempt keeps state %q and sign-on %q, want none and the winner's (code-%d)", r, got.SSOStateDigest, got.SSOSealed, winner)
		}
		if _, err := s.AttemptBySSOState(ctx, digest); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("round %d: the consumed state still finds its attempt: %v", r, err)
		}
	}
}

// TestRaceAttemptCompletesOnce: a link confirmed (or a PIN entered) in
// several places at once reaches the store as concurrent publications of
// the attempt's success; one applies, so the sign-in is counted and
// audited once, and the others change nothing.
func TestRaceAttemptCompletesOnce(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	acc, _, u := seed(t, s)
	now := time.Now().UTC()
	for r := range rounds {
		att := store.Attempt{ID: fmt.Sprintf("link-%d", r), AccountID: acc.ID, System: "vpn", AuthID: u.AuthID, WorkflowID: "wf", RunID: "run",
			State: store.AttemptPending, Method: "passwordless", StartedAt: now, UpdatedAt: now}
		_, err := s.InsertAttempt(ctx, &att)
		must(t, err)
		outs, errs := race(racers, func(i int) (bool, error) {
			return s.PublishAttempt(ctx, att.ID, store.AttemptUpdate{
				State: store.AttemptAuthenticated, At: now, LoginUserID: u.ID, LoginIP: fmt.Sprintf("203.0.113.%d", i),
			}, store.AuditEvent{AccountID: acc.ID, Time: now, Type: "attempt.authenticated", AuthID: u.AuthID, AttemptID: att.ID})
		})
		if n := winners(t, outs, errs, func(ok bool) bool { return ok }); n != 1 {
			t.Fatalf("round %d: the attempt completed %d times, want 1", r, n)
		}
		got, err := s.UserByID(ctx, u.ID)
		must(t, err)
		if got.LoginCount != r+1 {
			t.Fatalf("round %d: login count %d, want %d", r, got.LoginCount, r+1)
		}
	}
	if n := countAudit(t, s, acc.ID, "attempt.authenticated"); n != rounds {
		t.Errorf("%d attempt.authenticated events, want %d", n, rounds)
	}
}

// TestRaceConsoleSignInOpensOneSession: an authenticated console sign-in
// redeemed at once from several tabs opens one session; the others are
// ErrConflict.
func TestRaceConsoleSignInOpensOneSession(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	acc, _, u := seed(t, s)
	now := time.Now().UTC()
	for r := range rounds {
		attempt := fmt.Sprintf("console-%d", r)
		_, errs := race(racers, func(i int) (struct{}, error) {
			return struct{}{}, s.CreateConsoleSession(ctx, &store.ConsoleSession{
				ID: fmt.Sprintf("sess-%d-%d", r, i), AccountID: acc.ID, UserID: u.ID, AuthID: u.AuthID, AttemptID: attempt,
				SignedInAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
			}, now.Add(-time.Hour), store.AuditEvent{AccountID: acc.ID, Time: now, Type: "console.signed_in", AuthID: u.AuthID, AttemptID: attempt})
		})
		opened := 0
		for i, err := range errs {
			switch {
			case err == nil:
				opened++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d, consumer %d: %v, want nil or ErrConflict", r, i, err)
			}
		}
		if opened != 1 {
			t.Fatalf("round %d: %d sessions opened by one sign-in, want 1", r, opened)
		}
		n, err := s.DB().NewSelect().Model((*store.ConsoleSession)(nil)).Where("attempt_id = ?", attempt).Count(ctx)
		must(t, err)
		if n != 1 {
			t.Fatalf("round %d: %d sessions stored for one sign-in, want 1", r, n)
		}
	}
	if n := countAudit(t, s, acc.ID, "console.signed_in"); n != rounds {
		t.Errorf("%d console.signed_in events, want %d", n, rounds)
	}
}

// TestRaceAttemptSecretIsTakenOnce: the recovery codes drawn at enrolment
// are shown once; concurrent takers get them once and ErrNotFound else.
func TestRaceAttemptSecretIsTakenOnce(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	acc, _, _ := seed(t, s)
	now := time.Now().UTC()
	for r := range rounds {
		att := store.Attempt{ID: fmt.Sprintf("enrol-%d", r), AccountID: acc.ID, System: "vpn", AuthID: "alice", WorkflowID: "wf", RunID: "run",
			State: store.AttemptPending, Method: "password", StartedAt: now, UpdatedAt: now}
		_, err := s.InsertAttempt(ctx, &att)
		must(t, err)
		stored, err := s.PutAttemptSecret(ctx, store.AttemptSecret{AttemptID: att.ID, Key: store.SecretRecoveryCodes, Sealed: []byte("codes"), CreatedAt: now})
		must(t, err)
		if !stored {
			t.Fatal("a pending attempt kept no secret")
		}
		outs, errs := race(racers, func(int) ([]byte, error) { return s.TakeAttemptSecret(ctx, att.ID, store.SecretRecoveryCodes) })
		taken := 0
		for i, err := range errs {
			switch {
			case err == nil && string(outs[i]) == "codes":
				taken++
			case !errors.Is(err, store.ErrNotFound):
				t.Fatalf("round %d, taker %d: %q, %v; want the codes or ErrNotFound", r, i, outs[i], err)
			}
		}
		if taken != 1 {
			t.Fatalf("round %d: the codes were given out %d times, want 1", r, taken)
		}
	}
}

// TestRaceCredentialLinkSetsOnePassword: a welcome link submitted at once
// with different passwords (two tabs, or an intercepted link) sets one;
// the others are ErrLinkGone, and the password kept is the winner's.
func TestRaceCredentialLinkSetsOnePassword(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	acc, u := linkFixture(t, s)
	for r := range rounds {
		l := issue(t, s, u, fmt.Sprintf("welcome-%d", r), now, now.Add(24*time.Hour))
		_, errs := race(racers, func(i int) (struct{}, error) {
			return struct{}{}, s.SetPasswordByLink(ctx, store.PasswordByLink{
				LinkID: l.ID, Digest: l.Digest, Purpose: l.Purpose, UserID: u.ID, Hash: fmt.Sprintf("hash-%d-%d", r, i), At: now,
			}, store.AuditEvent{AccountID: acc.ID, Time: now, Type: "password.set", AuthID: u.AuthID})
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner < 0:
				winner = i
			case err == nil:
				t.Fatalf("round %d: consumers %d and %d both used the link", r, winner, i)
			case !errors.Is(err, store.ErrLinkGone):
				t.Fatalf("round %d, consumer %d: %v, want nil or ErrLinkGone", r, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no consumer used the link", r)
		}
		got, err := s.UserByID(ctx, u.ID)
		must(t, err)
		if want := fmt.Sprintf("hash-%d-%d", r, winner); got.PasswordHash != want {
			t.Fatalf("round %d: password hash %q, want the winner's %q", r, got.PasswordHash, want)
		}
		link, err := s.GetCredentialLink(ctx, l.ID)
		must(t, err)
		if link.UsedAt == nil || link.Sealed != nil {
			t.Fatalf("round %d: link %+v, want used and its sealed token gone", r, link)
		}
	}
	if n := countAudit(t, s, acc.ID, "password.set"); n != rounds {
		t.Errorf("%d password.set events, want %d", n, rounds)
	}
}

// TestRaceEmailVerificationLinkIsUsedOnce: a verification link opened at
// once verifies once; the others are ErrLinkGone with nothing audited.
func TestRaceEmailVerificationLinkIsUsedOnce(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	acc, u := selfServiceFixture(t, s)
	for r := range rounds {
		id := fmt.Sprintf("verify-%d", r)
		must(t, s.RequestSelfServiceLink(ctx, store.SelfServiceLink{
			Link:  store.CredentialLink{ID: id, AccountID: acc.ID, UserID: u.ID, Purpose: store.LinkVerifyEmail, CreatedAt: now.Add(time.Duration(r) * time.Second)},
			Since: now, Max: rounds + 1,
		}))
		l, err := s.DrawCredentialLink(ctx, id, "digest-"+id, []byte("sealed"), now.Add(time.Hour))
		must(t, err)
		_, errs := race(racers, func(int) (struct{}, error) {
			return struct{}{}, s.VerifyEmail(ctx, store.EmailVerification{LinkID: l.ID, Digest: l.Digest, UserID: u.ID, At: now},
				store.AuditEvent{AccountID: acc.ID, Time: now, Type: "email.verified", AuthID: u.AuthID})
		})
		used := 0
		for i, err := range errs {
			switch {
			case err == nil:
				used++
			case !errors.Is(err, store.ErrLinkGone):
				t.Fatalf("round %d, consumer %d: %v, want nil or ErrLinkGone", r, i, err)
			}
		}
		if used != 1 {
			t.Fatalf("round %d: the link verified %d times, want 1", r, used)
		}
	}
	if n := countAudit(t, s, acc.ID, "email.verified"); n != rounds {
		t.Errorf("%d email.verified events, want %d", n, rounds)
	}
}

// TestRaceRecoverLinkIsUsedOnce: a recover link submitted by concurrent
// updates of its attempt (each its own effect) resets the user's second
// factor once; the others are invalid outcomes and change nothing.
func TestRaceRecoverLinkIsUsedOnce(t *testing.T) {
	s := racePostgres(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	acc, u := selfServiceFixture(t, s)
	_, err := s.DB().NewUpdate().Model((*store.User)(nil)).Set("email_verified_at = ?", now).Where("id = ?", u.ID).Exec(ctx)
	must(t, err)
	for r := range rounds {
		att := store.Attempt{ID: fmt.Sprintf("recover-%d", r), AccountID: acc.ID, System: "@security", AuthID: u.AuthID, WorkflowID: "wf", RunID: "run",
			State: store.AttemptPending, Method: "password", StartedAt: now, UpdatedAt: now}
		_, err := s.InsertAttempt(ctx, &att)
		must(t, err)
		_, err = s.DB().NewUpdate().Model((*store.Attempt)(nil)).Set("step = ?", store.StepTOTP).Where("id = ?", att.ID).Exec(ctx)
		must(t, err)
		_, err = s.DB().NewUpdate().Model((*store.User)(nil)).Set("email_verified_at = ?", now).Where("id = ?", u.ID).Exec(ctx)
		must(t, err)
		id := fmt.Sprintf("rl-%d", r)
		must(t, s.RequestSelfServiceLink(ctx, store.SelfServiceLink{
			Link:  store.CredentialLink{ID: id, AccountID: acc.ID, UserID: u.ID, Purpose: store.LinkRecover, AttemptID: att.ID, CreatedAt: now.Add(time.Duration(r) * time.Second)},
			Since: now, Max: rounds + 1,
		}))
		l, err := s.DrawCredentialLink(ctx, id, "digest-"+id, []byte("sealed"), now.Add(time.Hour))
		must(t, err)
		outs, errs := race(racers, func(i int) (store.RecoveryOutcome, error) {
			return s.RecoverByEmail(ctx, store.EmailRecovery{
				AttemptID: att.ID, Effect: fmt.Sprintf("recover:%d", i), UserID: u.ID, LinkDigest: l.Digest,
				Pending: []byte("pending"), At: now,
				Record: store.ChangeRecord{Events: []store.AuditEvent{{AccountID: acc.ID, Time: now, Type: "two_factor.recovered", AuthID: u.AuthID, AttemptID: att.ID}}},
			})
		})
		if n := winners(t, outs, errs, func(o store.RecoveryOutcome) bool { return o.Valid }); n != 1 {
			t.Fatalf("round %d: the recover link worked %d times, want 1", r, n)
		}
		for i, o := range outs {
			if !o.Valid && o.Reason == "" {
				t.Errorf("round %d, consumer %d: invalid without a reason", r, i)
			}
		}
	}
	if n := countAudit(t, s, acc.ID, "two_factor.recovered"); n != rounds {
		t.Errorf("%d two_factor.recovered events, want %d", n, rounds)
	}
}
