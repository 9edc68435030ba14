package activities_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/password"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// passwordFixture is the fixture's alice with email and password sign-in
// on and the password "correct horse battery", hashed with params, and
// system vpn offering method password.
func passwordFixture(t *testing.T, params password.Params) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	ctx := context.Background()
	_, err := f.st.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acc", From: store.AccountSettings{EmailDelivery: true},
		To: store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}, At: f.now})
	must(t, err)
	h, err := password.NewHasher(params)
	must(t, err)
	hash, err := h.Hash("correct horse battery")
	must(t, err)
	_, err = f.st.DB().NewUpdate().Model((*store.User)(nil)).Set("email_password_login = ?", true).
		Set("password_hash = ?", hash).Where("id = ?", f.user.ID).Exec(ctx)
	must(t, err)
	_, err = f.st.DB().NewUpdate().Model((*store.System)(nil)).Set("methods = ?", `["pin","passwordless","totp","password"]`).
		Where("id = ?", "s1").Exec(ctx)
	must(t, err)
	must(t, f.st.SetAssignments(ctx, f.user.ID, []store.Assignment{{UserID: f.user.ID, SystemID: "s1", Method: "password"}}))
	return f
}

// submitPassword seals plain as the API does and has it checked.
func (f *fixture) submitPassword(t *testing.T, updateID, plain string) activities.PasswordResult {
	t.Helper()
	ctx := context.Background()
	key := attempt.PasswordSecretKey(updateID)
	sealed, err := f.keys.Seal([]byte(plain), attempt.SecretAAD(f.input.AttemptID, key))
	must(t, err)
	if _, err := f.st.PutAttemptSecret(ctx, store.AttemptSecret{AttemptID: f.input.AttemptID, Key: key, Sealed: sealed, CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	res, err := f.acts.CheckPassword(ctx, activities.PasswordInput{
		Subject: f.input, UserID: f.user.ID, Effect: "password:" + updateID, SecretKey: key, Browser: "browser-1", MaxAttempts: 3,
	})
	must(t, err)
	return res
}

func TestPasswordBeginsOnlyWhereAllowed(t *testing.T) {
	f := passwordFixture(t, password.RecommendedParams())
	ctx := context.Background()
	res, err := f.acts.Begin(ctx, activities.BeginInput{Subject: f.input, WorkflowID: "wf", RunID: "run", StartedAt: f.now, PageDigest: "page-1"})
	must(t, err)
	if !res.Allowed || res.Method != "password" {
		t.Fatalf("begin = %+v, want password allowed", res)
	}
	att, err := f.st.AttemptByPageDigest(ctx, "page-1")
	must(t, err)
	if att.ID != f.input.AttemptID || att.Step != store.StepPassword {
		t.Fatalf("attempt = %+v, want found by its page at step password", att)
	}

	// Without a password the engine refuses, whatever the policy says.
	_, err = f.st.DB().NewUpdate().Model((*store.User)(nil)).Set("password_hash = NULL").Where("id = ?", f.user.ID).Exec(ctx)
	must(t, err)
	in := f.input
	in.AttemptID = "att2"
	if res := f.begin(t, in); res.Allowed {
		t.Fatalf("begin without a password = %+v, want denied", res)
	}
}

func TestCheckPassword(t *testing.T) {
	// An old, cheaper hash: the right password upgrades it.
	old := password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltBytes: 16, KeyBytes: 32}
	f := passwordFixture(t, old)
	ctx := context.Background()
	f.begin(t, f.input)

	wrong := f.submitPassword(t, "u1", "not the password")
	if wrong.Valid || wrong.Failures != 1 || wrong.Step != "" {
		t.Fatalf("wrong password = %+v", wrong)
	}
	again, err := f.acts.CheckPassword(ctx, activities.PasswordInput{
		Subject: f.input, UserID: f.user.ID, Effect: "password:u1", SecretKey: attempt.PasswordSecretKey("u1"), MaxAttempts: 3,
	})
	must(t, err)
	if again.Failures != 1 {
		t.Fatalf("the same check run again = %+v, want it answered once, not counted twice", again)
	}
	if _, err := f.st.AttemptSecret(ctx, f.input.AttemptID, attempt.PasswordSecretKey("u1")); err == nil {
		t.Fatal("the checked password is still stored")
	}

	right := f.submitPassword(t, "u2", "correct horse battery")
	if !right.Valid || right.Step != store.StepEnrol {
		t.Fatalf("right password = %+v, want valid, on to enrolment", right)
	}
	user, err := f.st.UserByID(ctx, f.user.ID)
	must(t, err)
	if ok, rehash, err := password.Verify("correct horse battery", user.PasswordHash); !ok || rehash || err != nil {
		t.Fatalf("stored hash after sign-in: ok %v, still old %v, %v; want upgraded", ok, rehash, err)
	}
	if user.TOTPPending == nil {
		t.Fatal("no seed drawn for enrolment")
	}
	att, err := f.st.GetAttempt(ctx, f.input.AttemptID)
	must(t, err)
	if att.Step != store.StepEnrol || att.BrowserDigest != "browser-1" {
		t.Fatalf("attempt = step %q browser %q", att.Step, att.BrowserDigest)
	}
	if locks, _ := f.st.FactorLocks(ctx, f.user.ID); len(locks) != 0 {
		t.Fatalf("the right password left its failures: %+v", locks)
	}

	// Enrolment with a code from the drawn seed.
	seed, err := f.keys.Open(user.TOTPPending, user.ID)
	must(t, err)
	code, err := attempt.TOTPCode(string(seed), f.now)
	must(t, err)
	bad, err := f.acts.ConfirmEnrolment(ctx, activities.EnrolmentInput{Subject: f.input, UserID: f.user.ID, Effect: "enrol:1",
		Digest: attempt.CodeDigest(f.keys, f.input.AttemptID, "000000")})
	must(t, err)
	if bad.Valid {
		t.Fatal("a wrong enrolment code enrolled")
	}
	ok, err := f.acts.ConfirmEnrolment(ctx, activities.EnrolmentInput{Subject: f.input, UserID: f.user.ID, Effect: "enrol:2",
		Digest: attempt.CodeDigest(f.keys, f.input.AttemptID, code)})
	must(t, err)
	if !ok.Valid {
		t.Fatalf("enrolment = %+v", ok)
	}
	user, err = f.st.UserByID(ctx, f.user.ID)
	must(t, err)
	if !user.TOTPEnabled || user.TOTPPending != nil {
		t.Fatalf("user after enrolment: enabled %v, pending %v", user.TOTPEnabled, user.TOTPPending != nil)
	}
	sealed, err := f.st.TakeAttemptSecret(ctx, f.input.AttemptID, store.SecretRecoveryCodes)
	must(t, err)
	codes, err := attempt.OpenRecoveryCodes(f.keys, f.input.AttemptID, sealed)
	must(t, err)
	stored, err := f.st.UnusedRecoveryCodes(ctx, f.user.ID)
	must(t, err)
	if len(codes) != 10 || len(stored) != 10 {
		t.Fatalf("codes shown %d, stored %d; want 10", len(codes), len(stored))
	}
	canonical, _ := secret.NormalizeRecoveryCode(codes[0])
	found := false
	for _, c := range stored {
		found = found || c.Digest == attempt.RecoveryDigest(f.keys, canonical)
	}
	if !found {
		t.Fatal("a shown code is not among the stored digests")
	}
	if _, err := f.st.TakeAttemptSecret(ctx, f.input.AttemptID, store.SecretRecoveryCodes); err == nil {
		t.Fatal("the codes were given out twice")
	}
	types := f.auditTypes(t, "alice")
	for _, want := range []string{attempt.EventPasswordAccepted, attempt.EventTOTPEnrolled, attempt.EventRecoveryCodes, attempt.EventRejected} {
		if !contains(types, want) {
			t.Errorf("audit %v lacks %s", types, want)
		}
	}
}

func TestWrongPasswordsLockThePasswordAndRefuseUnseen(t *testing.T) {
	f := passwordFixture(t, password.RecommendedParams())
	f.begin(t, f.input)
	for i, id := range []string{"a", "b", "c"} {
		res := f.submitPassword(t, id, "guess")
		if res.Failures != i+1 {
			t.Fatalf("guess %d = %+v", i+1, res)
		}
	}
	locked := f.submitPassword(t, "d", "correct horse battery")
	if locked.Valid || !locked.Refused {
		t.Fatalf("the right password on a locked factor = %+v, want refused unseen", locked)
	}
	in := f.input
	in.AttemptID = "att2"
	if res := f.begin(t, in); res.Allowed {
		t.Fatalf("begin with the password locked = %+v, want denied", res)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// countingPasswords verifies like the tests' stand-in, counting how many
// verifications run at once.
type countingPasswords struct {
	mu           sync.Mutex
	running, max int
}

func (p *countingPasswords) Verify(plain, encoded string) (bool, bool, error) {
	p.mu.Lock()
	p.running++
	p.max = max(p.max, p.running)
	p.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	p.mu.Lock()
	p.running--
	p.mu.Unlock()
	return plain == "correct horse battery", false, nil
}

func (p *countingPasswords) Hash(plain string) (string, error) { return "unused", nil }

func TestPasswordVerificationsAreBounded(t *testing.T) {
	counting := &countingPasswords{}
	f := newFixtureWith(t, nil, activities.Config{Passwords: counting, MaxConcurrentHashes: 2})
	ctx := context.Background()
	_, err := f.st.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acc", From: store.AccountSettings{EmailDelivery: true},
		To: store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}, At: f.now})
	must(t, err)
	_, err = f.st.DB().NewUpdate().Model((*store.User)(nil)).Set("email_password_login = ?", true).
		Set("password_hash = ?", "any").Where("id = ?", f.user.ID).Exec(ctx)
	must(t, err)
	f.begin(t, f.input)
	var wg sync.WaitGroup
	for i := range 8 {
		id := fmt.Sprintf("p%d", i)
		key := attempt.PasswordSecretKey(id)
		sealed, err := f.keys.Seal([]byte("guess"), attempt.SecretAAD(f.input.AttemptID, key))
		must(t, err)
		_, err = f.st.PutAttemptSecret(ctx, store.AttemptSecret{AttemptID: f.input.AttemptID, Key: key, Sealed: sealed, CreatedAt: f.now})
		must(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each a different user's effect, as a flood against many users
			// would be; the store serialises the records, not the hashing.
			_, _ = f.acts.CheckPassword(ctx, activities.PasswordInput{
				Subject: f.input, UserID: f.user.ID, Effect: "password:" + id, SecretKey: key, MaxAttempts: 100,
			})
		}()
	}
	wg.Wait()
	if counting.max != 2 {
		t.Fatalf("at most %d verifications ran at once, want the bound, 2", counting.max)
	}
}
