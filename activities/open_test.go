package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/store"
)

// open runs BeginAndIssue for the fixture's attempt as the workflow does.
func (f *fixture) open(t *testing.T) activities.OpenResult {
	t.Helper()
	res, err := f.acts.BeginAndIssue(context.Background(), activities.BeginInput{Subject: f.input, WorkflowID: "wf", RunID: "run", StartedAt: f.now})
	must(t, err)
	return res
}

// BeginAndIssue stores the challenge sealed with the begin and delivers
// it; run again (a worker died before the workflow heard of it), it
// begins nothing more and sends the same secret under the same delivery
// id, as a retried IssueChallenge does.
func TestBeginAndIssueStoresTheChallengeWithTheBegin(t *testing.T) {
	for _, method := range []string{attempt.MethodPIN, attempt.MethodPasswordless} {
		t.Run(method, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, nil)
			must(t, f.st.SetAssignments(ctx, f.user.ID, []store.Assignment{{UserID: f.user.ID, SystemID: "s1", Method: method}}))
			first := f.open(t)
			if !first.Allowed || first.Method != method || first.Undelivered != "" || first.Issued.Channel != "email" {
				t.Fatalf("begin and issue = %+v", first)
			}
			if len(f.sent.sent) != 1 {
				t.Fatalf("%d sends, want 1", len(f.sent.sent))
			}
			a := f.sent.sent[0]
			switch method {
			case attempt.MethodPIN:
				if len(a.Code) != 8 || first.Issued.Digest != attempt.CodeDigest(f.keys, "att1", a.Code) {
					t.Fatalf("pin %q does not match its digest", a.Code)
				}
			case attempt.MethodPasswordless:
				token := strings.TrimPrefix(a.Link, "https://auth.example.com"+attempt.LinkPath)
				row, err := f.st.AttemptByLinkDigest(ctx, attempt.LinkDigest(f.keys, token))
				must(t, err)
				if row.ID != "att1" || first.Issued.Digest != row.LinkDigest {
					t.Fatalf("link lookup found %+v", row)
				}
			}
			row, err := f.st.GetAttempt(ctx, "att1")
			must(t, err)
			if len(row.Challenge) == 0 || strings.Contains(string(row.Challenge), a.Code+a.Link) {
				t.Fatalf("challenge stored as %q", row.Challenge)
			}

			again := f.open(t)
			if again.Issued != first.Issued || !again.Allowed || len(f.sent.sent) != 2 {
				t.Fatalf("run again = %+v after %d sends, want %+v", again, len(f.sent.sent), first)
			}
			if b := f.sent.sent[1]; b.Code != a.Code || b.Link != a.Link || b.ID != a.ID || a.ID != "att1" {
				t.Fatalf("the run again sent %+v after %+v", b, a)
			}
			retried, err := f.acts.IssueChallenge(ctx, activities.IssueInput{Subject: f.input, UserID: "u1", Method: method, ExpiresAt: f.now.Add(first.TTL)})
			must(t, err)
			if retried.Digest != first.Issued.Digest || f.sent.sent[2].Code != a.Code || f.sent.sent[2].Link != a.Link {
				t.Fatalf("IssueChallenge after BeginAndIssue sent %+v", f.sent.sent[2])
			}
			for typ, want := range map[string]int{attempt.EventStarted: 1, attempt.EventDecision: 1, attempt.EventDelivered: 3} {
				if n := f.count(t, typ); n != want {
					t.Errorf("%d %s events, want %d", n, typ, want)
				}
			}
		})
	}
}

// A delivery that fails is reported, not an error, so that the workflow
// retries the delivery alone: the begin stands, and IssueChallenge sends
// the secret the begin stored.
func TestBeginAndIssueReportsAFailedDelivery(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.sent.err = errors.New("mail server: connection refused")
	opened := f.open(t)
	if !opened.Allowed || opened.Permanent || !strings.Contains(opened.Undelivered, "connection refused") || opened.Issued.Digest != "" {
		t.Fatalf("begin and issue = %+v", opened)
	}
	stored, err := f.st.GetAttempt(ctx, "att1")
	must(t, err)
	f.sent.err = nil
	issued, err := f.acts.IssueChallenge(ctx, activities.IssueInput{Subject: f.input, UserID: opened.UserID, Method: opened.Method, ExpiresAt: f.now.Add(opened.TTL)})
	must(t, err)
	if issued.Digest != attempt.CodeDigest(f.keys, "att1", f.sent.sent[0].Code) {
		t.Fatal("the retried delivery's digest is not its pin's")
	}
	row, err := f.st.GetAttempt(ctx, "att1")
	must(t, err)
	if string(row.Challenge) != string(stored.Challenge) {
		t.Fatal("the retried delivery drew a new secret")
	}

	f2 := newFixture(t, nil)
	f2.sent.err = sdk.Permanent(errors.New("invalid number"))
	if opened := f2.open(t); !opened.Allowed || !opened.Permanent || !strings.Contains(opened.Undelivered, "invalid number") {
		t.Fatalf("begin and issue with a permanent failure = %+v", opened)
	}
}

// An attempt denied at its begin, or whose method delivers nothing, is
// begun as Begin does and sends nothing.
func TestBeginAndIssueSendsNothingUnlessAllowedToDeliver(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.input.AuthID = "nobody"
	if opened := f.open(t); opened.Allowed || opened.Undelivered != "" {
		t.Fatalf("unknown user: %+v", opened)
	}
	f = newFixture(t, nil)
	f.enrolTOTP(t, "JBSWY3DPEHPK3PXP")
	must(t, f.st.SetAssignments(ctx, f.user.ID, []store.Assignment{{UserID: f.user.ID, SystemID: "s1", Method: attempt.MethodTOTP}}))
	if opened := f.open(t); !opened.Allowed || opened.Method != attempt.MethodTOTP || opened.Undelivered != "" || opened.Issued.Digest != "" {
		t.Fatalf("totp: %+v", opened)
	}
	if len(f.sent.sent) != 0 {
		t.Fatalf("sent %+v", f.sent.sent)
	}
}

// With a directory, the address it knows is where BeginAndIssue sends.
func TestBeginAndIssueTakesTheDirectorysAddress(t *testing.T) {
	f := newFixtureWith(t, nil, activities.Config{Directory: "people"})
	f.user.Email = ""
	must(t, f.st.UpdateUserProfile(context.Background(), &f.user))
	f.sent.people = map[string]sdk.Identity{"alice": {Found: true, Email: "alice@corp.example"}}
	if opened := f.open(t); opened.Undelivered != "" || opened.Issued.Digest == "" {
		t.Fatalf("begin and issue = %+v", opened)
	}
	if got := f.sent.sent[0].To; got != "alice@corp.example" {
		t.Fatalf("sent to %q, want the directory's address", got)
	}
}

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
