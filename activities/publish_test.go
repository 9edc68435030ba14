package activities_test

import (
	"context"
	"testing"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// A right code checked with OnValid ends the attempt authenticated and
// records the login in the check's transaction, once however often it
// runs; a wrong one publishes nothing, and neither does a right one for an
// attempt that ended meanwhile.
func TestCheckCodePublishesTheSuccess(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.begin(t, f.input)
	check := func(effect, code string) activities.CodeResult {
		t.Helper()
		res, err := f.acts.CheckCode(ctx, activities.CodeInput{
			Subject: f.input, UserID: f.user.ID, Effect: effect, Factor: store.FactorPIN,
			Expected: attempt.CodeDigest(f.keys, f.input.AttemptID, "12345678"),
			Digest:   attempt.CodeDigest(f.keys, f.input.AttemptID, code), MaxAttempts: 5,
			OnValid: &activities.Conclusion{Reasons: []string{"correct pin"}},
		})
		must(t, err)
		return res
	}
	if res := check("code:1", "00000000"); res.Valid || res.Published || res.Failures != 1 {
		t.Fatalf("wrong code: %+v", res)
	}
	first := check("code:2", "12345678")
	again := check("code:2", "12345678")
	if !first.Valid || !first.Published || first != again {
		t.Fatalf("right code: %+v, run again %+v", first, again)
	}
	row, err := f.st.GetAttempt(ctx, f.input.AttemptID)
	must(t, err)
	user, err := f.st.UserByID(ctx, f.user.ID)
	must(t, err)
	if row.State != store.AttemptAuthenticated || user.LoginCount != 1 || user.LastIP != f.input.IP {
		t.Fatalf("attempt %s, user logged in %d times from %q", row.State, user.LoginCount, user.LastIP)
	}
	if n := f.count(t, attempt.EventAuthenticated); n != 1 {
		t.Fatalf("%d authenticated events, want 1", n)
	}
	locks, err := f.st.FactorLocks(ctx, f.user.ID)
	must(t, err)
	if len(locks) != 0 {
		t.Fatalf("the success left the pin's failures: %+v", locks)
	}

	// An attempt that expired before its right code was checked stays
	// expired, and the user is not signed in.
	f = newFixture(t, nil)
	f.begin(t, f.input)
	must(t, f.acts.Finish(ctx, activities.FinishInput{Subject: f.input, UserID: f.user.ID, State: store.AttemptExpired}))
	if res := check("code:1", "12345678"); !res.Valid || res.Published {
		t.Fatalf("right code after expiry: %+v", res)
	}
	row, err = f.st.GetAttempt(ctx, f.input.AttemptID)
	must(t, err)
	user, err = f.st.UserByID(ctx, f.user.ID)
	must(t, err)
	if row.State != store.AttemptExpired || user.LoginCount != 0 {
		t.Fatalf("attempt %s, user logged in %d times", row.State, user.LoginCount)
	}
}
