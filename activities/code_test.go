package activities_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// check submits a code for the fixture's attempt as the workflow does.
func (f *fixture) check(t *testing.T, effect, factor, expected, code string) activities.CodeResult {
	t.Helper()
	digest := attempt.CodeDigest(f.keys, f.input.AttemptID, code)
	if factor == store.FactorRecovery {
		canonical, _ := secret.NormalizeRecoveryCode(code)
		digest = attempt.CodeDigest(f.keys, f.input.AttemptID, attempt.RecoveryDigest(f.keys, canonical))
	}
	res, err := f.acts.CheckCode(context.Background(), activities.CodeInput{
		Subject: f.input, UserID: f.user.ID, Effect: effect, Factor: factor,
		Expected: attempt.CodeDigest(f.keys, f.input.AttemptID, expected), Digest: digest, MaxAttempts: 5,
	})
	must(t, err)
	return res
}

func (f *fixture) count(t *testing.T, typ string) int {
	t.Helper()
	events, err := f.st.ListAudit(context.Background(), store.AuditFilter{AccountID: "acc", Type: typ})
	must(t, err)
	return len(events)
}

func (f *fixture) enrolTOTP(t *testing.T, seed string) {
	t.Helper()
	ctx := context.Background()
	sealed, err := f.keys.Seal([]byte(seed), f.user.ID)
	must(t, err)
	must(t, f.st.SetTOTPPending(ctx, f.user.ID, sealed, f.now))
	must(t, f.st.ActivateTOTP(ctx, f.user.ID, sealed, 0, f.now))
}

func TestCheckCodeTOTP(t *testing.T) {
	f := newFixture(t, nil)
	seed := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	f.enrolTOTP(t, seed)
	code := func(d time.Duration) string {
		c, err := attempt.TOTPCode(seed, f.now.Add(d))
		must(t, err)
		return c
	}
	n := 0
	verify := func(c string) activities.CodeResult {
		n++
		return f.check(t, fmt.Sprint("code:", n), store.FactorTOTP, "", c)
	}
	if res := verify(code(-90 * time.Second)); res.Valid {
		t.Fatal("a code three steps old was accepted")
	}
	if res := verify(code(-30 * time.Second)); !res.Valid {
		t.Fatalf("the previous step's code was refused: %s", res.Reason)
	}
	if res := verify(code(0)); !res.Valid {
		t.Fatalf("the current code was refused: %s", res.Reason)
	}
	if res := verify(code(0)); res.Valid || res.Reason != "totp code already used" || res.Failures != 2 {
		t.Fatalf("a used code: %+v, want refused as the second failure", res)
	}
	if res := verify(code(-30 * time.Second)); res.Valid {
		t.Fatal("an older step was accepted after a newer one")
	}
	if res := verify(code(30 * time.Second)); !res.Valid {
		t.Fatalf("the next step's code was refused: %s", res.Reason)
	}
}

// A check run again (Temporal replaying a local activity whose task was
// dropped) answers the same and records nothing more.
func TestCheckCodeRunsOnce(t *testing.T) {
	f := newFixture(t, nil)
	first := f.check(t, "code:u1", store.FactorPIN, "12345678", "00000000")
	again := f.check(t, "code:u1", store.FactorPIN, "12345678", "00000000")
	if first != again || first.Valid || first.Failures != 1 {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	if n := f.count(t, attempt.EventRejected); n != 1 {
		t.Fatalf("%d code.rejected events, want 1", n)
	}
	// Even a run that would now succeed answers as the first did.
	if res := f.check(t, "code:u1", store.FactorPIN, "12345678", "12345678"); res.Valid {
		t.Fatalf("re-run answered %+v", res)
	}
}

func TestWrongCodesLockTheFactor(t *testing.T) {
	f := newFixture(t, nil)
	for i := 1; i <= 4; i++ {
		if res := f.check(t, fmt.Sprint("code:", i), store.FactorPIN, "12345678", "00000000"); res.Locked || res.Failures != i {
			t.Fatalf("failure %d: %+v", i, res)
		}
	}
	res := f.check(t, "code:5", store.FactorPIN, "12345678", "00000000")
	if !res.Locked || res.Failures != 5 {
		t.Fatalf("fifth failure: %+v, want the pin locked", res)
	}
	// The right PIN now is refused unseen, and nothing more is recorded.
	if res := f.check(t, "code:6", store.FactorPIN, "12345678", "12345678"); !res.Refused || res.Valid {
		t.Fatalf("while locked: %+v", res)
	}
	if n := f.count(t, attempt.EventRejected); n != 5 {
		t.Fatalf("%d code.rejected events, want 5", n)
	}
	events, err := f.st.ListAudit(context.Background(), store.AuditFilter{AccountID: "acc", Type: attempt.EventFactorLocked})
	must(t, err)
	if len(events) != 1 || events[0].Detail["factor"] != "pin" || events[0].Detail["until"] != f.now.Add(15*time.Minute).Format(time.RFC3339) {
		t.Fatalf("factor.locked events: %+v", events)
	}

	// The next sign-in is offered a link instead (the system enables
	// links); the engine would refuse the PIN whatever the policy said.
	f.input.AttemptID = "att2"
	res2 := f.begin(t, f.input)
	if !res2.Allowed || res2.Method != "passwordless" || strings.Join(res2.LockedFactors, ",") != "pin" {
		t.Fatalf("begin with the pin locked: %+v", res2)
	}

	// Fifteen minutes do not forget: past the wait, one more wrong PIN
	// locks it again for twice as long.
	f.now = f.now.Add(16 * time.Minute)
	if res := f.check(t, "code:7", store.FactorPIN, "12345678", "00000000"); !res.Locked || res.Failures != 6 {
		t.Fatalf("after the wait: %+v", res)
	}
	locks, err := f.st.FactorLocks(context.Background(), f.user.ID)
	must(t, err)
	if len(locks) != 1 || !locks[0].LockedUntil.Equal(f.now.Add(30*time.Minute)) {
		t.Fatalf("locks = %+v, want the pin locked 30 minutes", locks)
	}
}

func TestLockedPINWithoutLinksIsDeniedAtBegin(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	sys, err := f.st.GetSystem(ctx, "acc", "vpn")
	must(t, err)
	sys.Methods = []string{"pin"}
	must(t, f.st.UpdateSystem(ctx, &sys))
	for i := 1; i <= 5; i++ {
		f.check(t, fmt.Sprint("code:", i), store.FactorPIN, "12345678", "00000000")
	}
	f.input.AttemptID = "att2"
	if res := f.begin(t, f.input); res.Allowed {
		t.Fatalf("begin with the pin locked: %+v", res)
	}
	events, err := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acc", Type: attempt.EventDenied})
	must(t, err)
	if len(events) != 1 || events[0].Reasons[len(events[0].Reasons)-1] != "pin is locked after too many wrong codes" {
		t.Fatalf("denials: %+v", events)
	}
}

// With TOTP locked by someone's guesses, the user's recovery code still
// signs in: the lock is on the guessed factor.
func TestLockedTOTPLeavesRecoveryCodes(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.enrolTOTP(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	code, err := secret.NewRecoveryCode()
	must(t, err)
	canonical, _ := secret.NormalizeRecoveryCode(code)
	must(t, f.st.ReplaceRecoveryCodes(ctx, f.user.ID, []store.RecoveryCode{
		{ID: "r1", UserID: f.user.ID, Digest: attempt.RecoveryDigest(f.keys, canonical), CreatedAt: f.now},
	}))
	for i := 1; i <= 5; i++ {
		f.check(t, fmt.Sprint("code:", i), store.FactorTOTP, "", "000000")
	}
	if res := f.check(t, "code:6", store.FactorTOTP, "", "000000"); !res.Refused {
		t.Fatalf("totp after five wrong codes: %+v, want refused", res)
	}
	if res := f.check(t, "code:7", store.FactorRecovery, "", "WRONG-WRONG-WRONG"); res.Valid || res.Refused {
		t.Fatalf("a wrong recovery code: %+v", res)
	}
	if res := f.check(t, "code:8", store.FactorRecovery, "", strings.ToLower(code)); !res.Valid {
		t.Fatalf("the recovery code: %+v", res)
	}
	if res := f.check(t, "code:9", store.FactorRecovery, "", code); res.Valid {
		t.Fatalf("the recovery code twice: %+v", res)
	}
	if n := f.count(t, attempt.EventRecoveryCodeUsed); n != 1 {
		t.Fatalf("%d recovery_code.used events, want 1", n)
	}
}

// Begin run again answers the same and records nothing twice.
func TestBeginRunsOnce(t *testing.T) {
	f := newFixture(t, nil)
	first := f.begin(t, f.input)
	f.now = f.now.Add(time.Minute)
	again := f.begin(t, f.input)
	if fmt.Sprint(first) != fmt.Sprint(again) || !first.Allowed {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	if got := strings.Join(f.auditTypes(t, "alice"), ","); got != "policy.decision,attempt.started" {
		t.Fatalf("audit after two runs = %s", got)
	}
	// A denial too.
	f.input.AttemptID, f.input.AuthID = "att2", "nobody"
	f.begin(t, f.input)
	f.begin(t, f.input)
	if got := strings.Join(f.auditTypes(t, "nobody"), ","); got != "attempt.denied,attempt.started" {
		t.Fatalf("audit of a denial run twice = %s", got)
	}
}

// Console sign-ins, which anyone can start, never spend the application's
// budget, and a flood from elsewhere does not shut out an address the
// administrator signed in from before.
func TestStartLimits(t *testing.T) {
	f := newFixtureWith(t, nil, activities.Config{Limits: admission.Limits{
		UserStarts: 3, ConsoleUserIPStarts: 2, ConsoleUserStarts: 5, ConsoleAccountStarts: 100,
	}})
	ctx := context.Background()
	console := store.System{ID: "s2", AccountID: "acc", Name: attempt.ConsoleSystem, Methods: []string{"passwordless"},
		Sensitivity: "medium", TTLSeconds: 300, CreatedAt: f.now, UpdatedAt: f.now}
	must(t, f.st.CreateSystem(ctx, &console))
	must(t, f.st.SetAssignments(ctx, f.user.ID, []store.Assignment{
		{UserID: f.user.ID, SystemID: "s1", Method: "pin"}, {UserID: f.user.ID, SystemID: "s2", Method: "passwordless"},
	}))
	must(t, f.st.RecordLogin(ctx, f.user.ID, "192.0.2.10", "", f.now.Add(-time.Hour))) // the admin's own address
	n := 0
	start := func(system, ip string) activities.BeginResult {
		t.Helper()
		n++
		s := f.input
		s.AttemptID, s.System, s.IP = fmt.Sprint("att", n), system, ip
		return f.begin(t, s)
	}
	for i, tc := range []struct {
		system, ip string
		allowed    bool
	}{
		{"console", "203.0.113.1", true},
		{"console", "203.0.113.1", true},
		{"console", "203.0.113.1", false}, // this address's budget for alice
		{"console", "203.0.113.2", true},
		{"console", "203.0.113.3", true},
		{"console", "203.0.113.4", false}, // unfamiliar addresses' budget for alice
		{"console", "192.0.2.10", true},   // her own address is not shut out
		{"vpn", "198.51.100.7", true},     // nor is the application
		{"vpn", "198.51.100.7", true},
		{"vpn", "198.51.100.7", true},
		{"vpn", "198.51.100.7", false}, // the application's own limit
	} {
		if res := start(tc.system, tc.ip); res.Allowed != tc.allowed {
			t.Fatalf("start %d (%s from %s): allowed = %v, want %v (%v)", i+1, tc.system, tc.ip, res.Allowed, tc.allowed, res.Reasons)
		}
	}
}

// The account-wide limit counts the account's application starts of the
// last minute from its per-second counts, on both databases: a rerun of a
// begin is not counted again, console sign-ins are not counted, and the
// budget comes back as the minute passes.
func TestAccountStartLimit(t *testing.T) {
	for name, st := range map[string]*store.Store{
		"postgres": storetest.Open(t, cluster.NewDatabase(t)),
		"sqlite":   storetest.SQLite(t),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixtureOn(t, st, nil, activities.Config{Limits: admission.Limits{UserStarts: -1, AccountStarts: 3}})
			ctx := context.Background()
			console := store.System{ID: "s2", AccountID: "acc", Name: attempt.ConsoleSystem, Methods: []string{"passwordless"},
				Sensitivity: "medium", TTLSeconds: 300, CreatedAt: f.now, UpdatedAt: f.now}
			must(t, f.st.CreateSystem(ctx, &console))
			must(t, f.st.SetAssignments(ctx, f.user.ID, []store.Assignment{
				{UserID: f.user.ID, SystemID: "s1", Method: "pin"}, {UserID: f.user.ID, SystemID: "s2", Method: "passwordless"},
			}))
			n := 0
			start := func(system string) activities.BeginResult {
				t.Helper()
				n++
				s := f.input
				s.AttemptID, s.System = fmt.Sprint("att", n), system
				f.now = f.now.Add(10 * time.Second)
				return f.begin(t, s)
			}
			for i, tc := range []struct {
				system  string
				allowed bool
			}{
				{"vpn", true}, {"console", true}, {"vpn", true}, {"vpn", true},
				{"vpn", false}, // the fourth application start of the minute
			} {
				res := start(tc.system)
				if res.Allowed != tc.allowed {
					t.Fatalf("start %d (%s): allowed = %v, want %v (%v)", i+1, tc.system, res.Allowed, tc.allowed, res.Reasons)
				}
				if !tc.allowed && (len(res.Reasons) == 0 || res.Reasons[0] != "rate limited: 4 starts for the account in the last minute (limit 3)") {
					t.Fatalf("refused for %v", res.Reasons)
				}
			}
			// A retried begin answers as before and counts nothing more.
			again := f.input
			again.AttemptID, again.System = "att1", "vpn"
			if res := f.begin(t, again); !res.Allowed {
				t.Fatalf("the rerun of the first begin answers %v", res.Reasons)
			}
			// At 81 s the minute holds the starts of 30, 40 and 50 s (the
			// refused one is an attempt too); at 121 s only that of 81 s.
			f.now = f.now.Add(21 * time.Second)
			if res := start("vpn"); res.Allowed {
				t.Fatalf("at %v: allowed with 3 starts in the minute", f.now)
			}
			f.now = f.now.Add(30 * time.Second)
			if res := start("vpn"); !res.Allowed {
				t.Fatalf("a minute on: refused %v", res.Reasons)
			}
		})
	}
}

// A recovery code stored before the master key was rotated still signs in:
// the API sends its digest under the previous key too.
func TestRecoveryCodeSurvivesKeyRotation(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	oldMaster := []byte(strings.Repeat("o", secret.MasterKeySize))
	old, err := secret.New(oldMaster)
	must(t, err)
	code, err := secret.NewRecoveryCode()
	must(t, err)
	canonical, _ := secret.NormalizeRecoveryCode(code)
	must(t, f.st.ReplaceRecoveryCodes(ctx, f.user.ID, []store.RecoveryCode{
		{ID: "r1", UserID: f.user.ID, Digest: attempt.RecoveryDigest(old, canonical), CreatedAt: f.now},
	}))
	// The fixture's keyring is the new master key; rotated, it knows the old.
	rotated, err := secret.New([]byte(strings.Repeat("k", secret.MasterKeySize)), oldMaster)
	must(t, err)
	in := activities.CodeInput{
		Subject: f.input, UserID: f.user.ID, Factor: store.FactorRecovery, MaxAttempts: 5,
		Digest: attempt.CodeDigest(rotated, f.input.AttemptID, attempt.RecoveryDigest(rotated, canonical)),
	}
	in.Effect = "code:without"
	if res, err := f.acts.CheckCode(ctx, in); err != nil || res.Valid {
		t.Fatalf("without the previous key's digest: %+v, %v; want refused", res, err)
	}
	for _, d := range attempt.PreviousRecoveryDigests(rotated, canonical) {
		in.Alternates = append(in.Alternates, attempt.CodeDigest(rotated, f.input.AttemptID, d))
	}
	in.Effect = "code:with"
	if res, err := f.acts.CheckCode(ctx, in); err != nil || !res.Valid {
		t.Fatalf("with it: %+v, %v; want valid", res, err)
	}
}

// TestSecuritySettingsSignInsHaveTheirOwnBudget: sign-ins to the security
// settings, which anyone who knows an address can start, are limited like
// the console's and never spend the user's application starts.
func TestSecuritySettingsSignInsHaveTheirOwnBudget(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	limits := admission.Limits{UserStarts: 3, ConsoleUserIPStarts: 2, ConsoleUserStarts: 5, ConsoleAccountStarts: 100}
	for i := range 4 {
		_, err := f.st.InsertAttempt(ctx, &store.Attempt{ID: fmt.Sprint("sec", i), AccountID: "acc", System: attempt.SecuritySystem,
			AuthID: "alice", WorkflowID: "wf", State: store.AttemptDenied, IP: "203.0.113.1", StartedAt: f.now, UpdatedAt: f.now})
		must(t, err)
	}
	judge := func(system, ip string) string {
		t.Helper()
		reason, err := limits.Exceeded(ctx, f.st, admission.StartRequest{AccountID: "acc", System: system, AuthID: "alice", IP: ip, At: f.now})
		must(t, err)
		return reason
	}
	if got := judge(attempt.SecuritySystem, "203.0.113.1"); !strings.Contains(got, "security settings sign-ins for this user from 203.0.113.1") {
		t.Fatalf("a fifth security sign-in from one address: %q, want limited", got)
	}
	if got := judge("vpn", "198.51.100.7"); got != "" {
		t.Fatalf("the application's start after four security sign-ins: %q, want allowed", got)
	}
	if got := judge(attempt.ConsoleSystem, "203.0.113.1"); got != "" {
		t.Fatalf("a console sign-in: %q, want its own budget", got)
	}
}

// The user's start limit spans systems: begins of one user on several
// systems at once must not each miss the others' uncommitted starts and all
// pass (a user at the limit would be sent one message per system).
func TestUserStartLimitHoldsForConcurrentBeginsOnSeveralSystems(t *testing.T) {
	const systems, limit = 6, 2
	f := newFixtureOn(t, storetest.Open(t, cluster.NewDatabase(t)), nil, activities.Config{Limits: admission.Limits{UserStarts: limit, AccountStarts: -1}})
	ctx := context.Background()
	assignments := []store.Assignment{{UserID: f.user.ID, SystemID: "s1", Method: "pin"}}
	for i := 2; i <= systems; i++ {
		sys := store.System{ID: fmt.Sprint("s", i), AccountID: "acc", Name: fmt.Sprint("app", i), Methods: []string{"pin"},
			Sensitivity: "low", TTLSeconds: 300, CreatedAt: f.now, UpdatedAt: f.now}
		must(t, f.st.CreateSystem(ctx, &sys))
		assignments = append(assignments, store.Assignment{UserID: f.user.ID, SystemID: sys.ID, Method: "pin"})
	}
	must(t, f.st.SetAssignments(ctx, f.user.ID, assignments))
	for round := range 3 {
		var wg sync.WaitGroup
		allowed := make(chan bool, systems)
		errs := make(chan error, systems)
		for i := 1; i <= systems; i++ {
			s := f.input
			s.AttemptID, s.System = fmt.Sprint("round", round, "-att", i), map[bool]string{true: "vpn", false: fmt.Sprint("app", i)}[i == 1]
			wg.Go(func() {
				res, err := f.acts.Begin(ctx, activities.BeginInput{Subject: s, WorkflowID: "wf-" + s.AttemptID, RunID: "run", StartedAt: f.now})
				errs <- err
				allowed <- res.Allowed
			})
		}
		wg.Wait()
		close(allowed)
		close(errs)
		for err := range errs {
			must(t, err)
		}
		n := 0
		for ok := range allowed {
			if ok {
				n++
			}
		}
		if n != limit {
			t.Fatalf("round %d: %d of %d concurrent starts on %d systems allowed, want the limit, %d", round, n, systems, systems, limit)
		}
		f.now = f.now.Add(time.Hour) // the window moves on
	}
}
