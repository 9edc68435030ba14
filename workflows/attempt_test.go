package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/workflows"
)

// acts names activities for mocking; the test environment never calls it.
var acts *activities.Activities

const attemptID = "attempt-1"

// input is a new attempt: it runs the current shape. originalShape runs
// the first one, which attempts begun before ShapeLean still run.
var input = workflows.AttemptInput{AttemptID: attemptID, AccountID: "acc", System: "vpn", AuthID: "alice", IP: "203.0.113.9", Shape: workflows.CurrentShape}

// newEnv returns a time-skipping environment whose Begin allows method with
// ttl and maxAttempts, whose IssueChallenge yields digest "right", and which
// records every final state published.
func newEnv(t *testing.T, method string, ttl time.Duration, maxAttempts int) (*testsuite.TestWorkflowEnvironment, *[]string) {
	env, finals, _ := newCountingEnv(t, method, ttl, maxAttempts)
	return env, finals
}

// codeChecks plays CheckCode over a store of runs of failures per factor:
// a PIN is right when its digest is the delivered one, a TOTP code when
// it is "totp-right", a recovery code when it is "recovery-right".
type codeChecks struct {
	failures map[string]int
	effects  []string
	checked  int // codes looked at (not refused)
}

func (c *codeChecks) check(_ context.Context, in activities.CodeInput) (activities.CodeResult, error) {
	c.effects = append(c.effects, in.Effect)
	if c.failures[in.Factor] >= in.MaxAttempts {
		return activities.CodeResult{Refused: true, Locked: true, Failures: c.failures[in.Factor], Reason: in.Factor + " is locked"}, nil
	}
	c.checked++
	valid := map[string]bool{
		"pin": in.Digest == in.Expected, "totp": in.Digest == "totp-right", "recovery": in.Digest == "recovery-right",
	}[in.Factor]
	if valid {
		return activities.CodeResult{Valid: true}, nil
	}
	c.failures[in.Factor]++
	n := c.failures[in.Factor]
	return activities.CodeResult{Failures: n, Locked: n >= in.MaxAttempts, Reason: "wrong " + in.Factor}, nil
}

// newCountingEnv is newEnv that also reports how many codes (or refused
// sign-ons) were checked.
func newCountingEnv(t *testing.T, method string, ttl time.Duration, maxAttempts int) (*testsuite.TestWorkflowEnvironment, *[]string, *int) {
	env, finals, checks := newCheckingEnv(t, method, ttl, maxAttempts)
	return env, finals, &checks.checked
}

// newCheckingEnv is newEnv that also gives the code checks.
func newCheckingEnv(t *testing.T, method string, ttl time.Duration, maxAttempts int) (*testsuite.TestWorkflowEnvironment, *[]string, *codeChecks) {
	return newIssuingEnv(t, method, ttl, maxAttempts, func(context.Context, activities.IssueInput) (activities.IssueResult, error) {
		return activities.IssueResult{Digest: "right", Channel: "email"}, nil
	})
}

// newIssuingEnv is newCheckingEnv whose IssueChallenge is issue.
func newIssuingEnv(t *testing.T, method string, ttl time.Duration, maxAttempts int, issue func(context.Context, activities.IssueInput) (activities.IssueResult, error)) (*testsuite.TestWorkflowEnvironment, *[]string, *codeChecks) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.Attempt)
	env.RegisterActivity(acts)
	onBegin(env, activities.BeginResult{Allowed: true, UserID: "u1", Method: method, TTL: ttl, MaxAttempts: maxAttempts}, issue)
	checks := &codeChecks{failures: map[string]int{}}
	finals := &[]string{}
	env.OnActivity(acts.CheckCode, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.CodeInput) (activities.CodeResult, error) {
		res, err := checks.check(ctx, in)
		if res.Valid && in.OnValid != nil {
			// The compact shape's check publishes the success itself.
			*finals = append(*finals, workflows.StateAuthenticated+" by "+in.Factor)
			res.Published = true
		}
		return res, err
	})
	// Refused sign-ons are still counted by RecordFailure, against sso.
	env.OnActivity(acts.RecordFailure, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FailureInput) (int, error) {
		checks.effects = append(checks.effects, in.Effect)
		checks.checked++
		checks.failures[in.Factor]++
		return checks.failures[in.Factor], nil
	})
	env.OnActivity(acts.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) error {
		state := in.State
		if in.Factor != "" {
			state += " by " + in.Factor
		}
		*finals = append(*finals, state)
		return nil
	})
	return env, finals, checks
}

// onBegin has Begin answer begun and IssueChallenge deliver with issue.
func onBegin(env *testsuite.TestWorkflowEnvironment, begun activities.BeginResult, issue func(context.Context, activities.IssueInput) (activities.IssueResult, error)) {
	env.OnActivity(acts.Begin, mock.Anything, mock.Anything).Return(begun, nil)
	env.OnActivity(acts.IssueChallenge, mock.Anything, mock.Anything).Return(issue)
}

// submit sends an update after delay and stores its verdict (or error).
func submit(env *testsuite.TestWorkflowEnvironment, delay time.Duration, name string, sub workflows.Submission, out *workflows.Verdict, outErr *error) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { *outErr = err },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					*outErr = err
					return
				}
				*out = v.(workflows.Verdict)
			},
		}, sub)
	}, delay)
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.AttemptResult {
	t.Helper()
	return completed[workflows.AttemptResult](t, env)
}

// completed is the result of a workflow that must have completed without
// error.
func completed[R any](t *testing.T, env *testsuite.TestWorkflowEnvironment) R {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res R
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestConfirmedLinkAuthenticates(t *testing.T) {
	env, finals := newEnv(t, attempt.MethodPasswordless, 5*time.Minute, 5)
	var v workflows.Verdict
	var err error
	submit(env, time.Minute, workflows.UpdateConfirmLink, workflows.Submission{AttemptID: attemptID, Digest: "right"}, &v, &err)
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateAuthenticated {
		t.Fatalf("state = %s, want authenticated", res.State)
	}
	if err != nil || v.Verdict != workflows.VerdictAccepted {
		t.Fatalf("verdict = %+v, %v", v, err)
	}
	if len(*finals) != 1 || (*finals)[0] != workflows.StateAuthenticated {
		t.Fatalf("published %v, want [authenticated]", *finals)
	}
}

func TestUnansweredAttemptExpiresAtItsTTL(t *testing.T) {
	env, finals := newEnv(t, attempt.MethodPIN, 3*time.Minute, 5)
	start := env.Now()
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateExpired {
		t.Fatalf("state = %s, want expired", res.State)
	}
	if took := env.Now().Sub(start); took < 3*time.Minute || took > 3*time.Minute+time.Second {
		t.Fatalf("expired after %v, want 3m", took)
	}
	if len(*finals) != 1 || (*finals)[0] != workflows.StateExpired {
		t.Fatalf("published %v, want [expired]", *finals)
	}
}

func TestCodeAfterExpiryIsRefused(t *testing.T) {
	env, _ := newEnv(t, attempt.MethodPIN, time.Minute, 5)
	var v workflows.Verdict
	var err error
	// The workflow has ended by then: the update cannot be delivered.
	submit(env, 2*time.Minute, workflows.UpdateSubmitCode, workflows.Submission{AttemptID: attemptID, Digest: "right"}, &v, &err)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateExpired {
		t.Fatalf("state = %s, want expired", res.State)
	}
	if v.Verdict == workflows.VerdictAccepted {
		t.Fatal("a code after expiry was accepted")
	}
}

func TestWrongPINsLockTheAttempt(t *testing.T) {
	env, finals := newEnv(t, attempt.MethodPIN, 5*time.Minute, 3)
	verdicts := make([]workflows.Verdict, 4)
	errs := make([]error, 4)
	for i := range 3 {
		submit(env, time.Duration(i+1)*time.Second, workflows.UpdateSubmitCode,
			workflows.Submission{AttemptID: attemptID, Digest: "wrong"}, &verdicts[i], &errs[i])
	}
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateLocked {
		t.Fatalf("state = %s, want locked", res.State)
	}
	want := []workflows.Verdict{
		{Verdict: workflows.VerdictRejected, State: workflows.StatePending, Remaining: 2},
		{Verdict: workflows.VerdictRejected, State: workflows.StatePending, Remaining: 1},
		{Verdict: workflows.VerdictClosed, State: workflows.StateLocked},
	}
	for i, w := range want {
		if errs[i] != nil || verdicts[i] != w {
			t.Errorf("submission %d: verdict %+v, err %v; want %+v", i+1, verdicts[i], errs[i], w)
		}
	}
	if len(*finals) != 1 || (*finals)[0] != workflows.StateLocked {
		t.Fatalf("published %v, want [locked]", *finals)
	}
}

func TestConcurrentGuessesAreCountedOneAtATime(t *testing.T) {
	// A burst of guesses arrives at once: each must be checked after the
	// failures before it are counted, so no more than max_attempts guesses
	// are ever looked at.
	env, _, checked := newCountingEnv(t, attempt.MethodPIN, 5*time.Minute, 3)
	const burst = 8
	verdicts := make([]workflows.Verdict, burst)
	errs := make([]error, burst)
	env.RegisterDelayedCallback(func() {
		for i := range burst {
			env.UpdateWorkflow(workflows.UpdateSubmitCode, "", &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { errs[i] = err },
				OnAccept:   func() {},
				OnComplete: func(v any, err error) { verdicts[i], errs[i] = v.(workflows.Verdict), err },
			}, workflows.Submission{AttemptID: attemptID, Digest: "wrong"})
		}
	}, time.Second)
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateLocked {
		t.Fatalf("state = %s, want locked", res.State)
	}
	if *checked != 3 {
		t.Fatalf("%d guesses were checked, want exactly max_attempts = 3", *checked)
	}
	rejected := 0
	for i, v := range verdicts {
		if errs[i] != nil {
			t.Fatalf("guess %d: %v", i, errs[i])
		}
		if v.Verdict == workflows.VerdictRejected {
			rejected++
		}
	}
	if rejected != 2 {
		t.Fatalf("%d guesses answered 'rejected', want 2 (the third locks, the rest find it closed)", rejected)
	}
}

func TestTOTPIsVerifiedByTheActivity(t *testing.T) {
	env, finals := newEnv(t, attempt.MethodTOTP, 5*time.Minute, 5)
	var first, second workflows.Verdict
	var err1, err2 error
	submit(env, time.Second, workflows.UpdateSubmitCode, workflows.Submission{AttemptID: attemptID, Digest: "nope", Factor: "totp"}, &first, &err1)
	submit(env, 2*time.Second, workflows.UpdateSubmitCode, workflows.Submission{AttemptID: attemptID, Digest: "totp-right", Factor: "totp"}, &second, &err2)
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateAuthenticated {
		t.Fatalf("state = %s, want authenticated", res.State)
	}
	if first.Verdict != workflows.VerdictRejected || second.Verdict != workflows.VerdictAccepted {
		t.Fatalf("verdicts = %+v, %+v (%v, %v)", first, second, err1, err2)
	}
	if strings.Join(*finals, ",") != "authenticated by totp" {
		t.Fatalf("published %v", *finals)
	}
	env.AssertNotCalled(t, "IssueChallenge", mock.Anything, mock.Anything)
}

// Someone guessing a TOTP user's codes locks TOTP; the attempt goes on,
// and the user's recovery code still signs in. Once recovery codes are
// locked too, nothing is left and the attempt locks.
func TestLockedTOTPLeavesRecoveryCodes(t *testing.T) {
	for _, c := range []struct {
		name   string
		last   workflows.Submission
		state  string
		finals string
	}{
		{"a recovery code signs in", workflows.Submission{Digest: "recovery-right", Factor: "recovery"}, workflows.StateAuthenticated, "authenticated by recovery"},
		{"wrong recovery codes lock the attempt", workflows.Submission{Digest: "nope", Factor: "recovery"}, workflows.StateLocked, "locked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, finals, checks := newCheckingEnv(t, attempt.MethodTOTP, 5*time.Minute, 2)
			subs := []workflows.Submission{
				{Digest: "nope", Factor: "totp"}, {Digest: "nope", Factor: "totp"}, // totp locks
				{Digest: "totp-right", Factor: "totp"}, // refused unseen
				{Digest: "nope", Factor: "recovery"},
				c.last,
			}
			verdicts := make([]workflows.Verdict, len(subs))
			errs := make([]error, len(subs))
			for i, sub := range subs {
				sub.AttemptID = attemptID
				submit(env, time.Duration(i+1)*time.Second, workflows.UpdateSubmitCode, sub, &verdicts[i], &errs[i])
			}
			env.ExecuteWorkflow(workflows.Attempt, input)

			if res := result(t, env); res.State != c.state {
				t.Fatalf("state = %s, want %s", res.State, c.state)
			}
			if verdicts[2].Verdict != workflows.VerdictRejected || verdicts[2].State != workflows.StatePending {
				t.Fatalf("a right TOTP code while TOTP is locked: %+v, want rejected with the attempt pending", verdicts[2])
			}
			if strings.Join(*finals, ",") != c.finals {
				t.Fatalf("published %v, want %s", *finals, c.finals)
			}
			// Each check is keyed by its own update, so a re-run is recognised.
			seen := map[string]bool{}
			for _, e := range checks.effects {
				if !strings.HasPrefix(e, "code:") || seen[e] {
					t.Fatalf("effects %v: want one distinct code:<update id> per submission", checks.effects)
				}
				seen[e] = true
			}
		})
	}
}

// A PIN attempt whose PIN is already locked when it starts (a policy that
// picked it anyway) refuses every code unseen and locks at once.
func TestPINLockedAtTheStartLocksTheAttempt(t *testing.T) {
	env, finals, checks := newCheckingEnv(t, attempt.MethodPIN, 5*time.Minute, 3)
	checks.failures["pin"] = 3
	var v workflows.Verdict
	var err error
	submit(env, time.Second, workflows.UpdateSubmitCode, workflows.Submission{AttemptID: attemptID, Digest: "right", Factor: "pin"}, &v, &err)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateLocked || v.State != workflows.StateLocked || checks.checked != 0 {
		t.Fatalf("state %s, verdict %+v (%v), %d checked", res.State, v, err, checks.checked)
	}
	if strings.Join(*finals, ",") != "locked" {
		t.Fatalf("published %v", *finals)
	}
}

func TestSubmissionForASupersededAttemptIsRejected(t *testing.T) {
	// After a new start supersedes an attempt, its PIN or link may still
	// reach the new run (same workflow ID): it names the old attempt.
	env, _ := newEnv(t, attempt.MethodPIN, time.Minute, 5)
	var v workflows.Verdict
	var err error
	submit(env, time.Second, workflows.UpdateSubmitCode, workflows.Submission{AttemptID: "attempt-0", Digest: "right"}, &v, &err)
	env.ExecuteWorkflow(workflows.Attempt, input)

	if !errors.Is(err, workflows.ErrStaleAttempt) && (err == nil || err.Error() != workflows.ErrStaleAttempt.Error()) {
		t.Fatalf("stale submission: verdict %+v, err %v; want ErrStaleAttempt", v, err)
	}
	if res := result(t, env); res.State != workflows.StateExpired {
		t.Fatalf("state = %s, want expired", res.State)
	}
}

func TestCodeForALinkAttemptIsRejected(t *testing.T) {
	env, _ := newEnv(t, attempt.MethodPasswordless, time.Minute, 5)
	var v workflows.Verdict
	var err error
	submit(env, time.Second, workflows.UpdateSubmitCode, workflows.Submission{AttemptID: attemptID, Digest: "right"}, &v, &err)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if err == nil || err.Error() != workflows.ErrWrongMethod.Error() {
		t.Fatalf("code on a link attempt: verdict %+v, err %v", v, err)
	}
}

func TestPolicyDenialEndsTheAttempt(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.Attempt)
	env.RegisterActivity(acts)
	onBegin(env, activities.BeginResult{Reasons: []string{"unknown user"}}, nil)
	var begin workflows.BeginResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateBegin, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("begin rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) { begin = v.(workflows.BeginResult) },
		})
	}, 0)
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateDenied || res.Reasons[0] != "unknown user" {
		t.Fatalf("result = %+v, want denied for unknown user", res)
	}
	if begin.Allowed {
		t.Fatal("begin allowed a denied attempt")
	}
	env.AssertNotCalled(t, "IssueChallenge", mock.Anything, mock.Anything)
}

func TestBeginAnswersWithTheDecision(t *testing.T) {
	env, _ := newEnv(t, attempt.MethodPIN, 2*time.Minute, 5)
	var begin workflows.BeginResult
	start := env.Now()
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateBegin, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("begin rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) { begin = v.(workflows.BeginResult) },
		})
	}, 0)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if !begin.Allowed || begin.Method != attempt.MethodPIN || begin.AttemptID != attemptID {
		t.Fatalf("begin = %+v", begin)
	}
	if d := begin.ExpiresAt.Sub(start); d < 2*time.Minute-time.Second || d > 2*time.Minute+time.Second {
		t.Fatalf("expires %v after start, want 2m", d)
	}
}

func TestUndeliverableChallengeFailsClosed(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.Attempt)
	env.RegisterActivity(acts)
	onBegin(env, activities.BeginResult{
		Allowed: true, UserID: "u1", Method: attempt.MethodPIN, TTL: 5 * time.Minute, MaxAttempts: 5,
	}, func(context.Context, activities.IssueInput) (activities.IssueResult, error) {
		return activities.IssueResult{}, temporal.NewNonRetryableApplicationError("invalid number", activities.ErrTypeDelivery, nil)
	})
	var finals []activities.FinishInput
	env.OnActivity(acts.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) error {
		finals = append(finals, in)
		return nil
	})
	var d deliveries
	d.listen(env)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateDenied {
		t.Fatalf("state = %s, want denied", res.State)
	}
	if len(finals) != 1 || finals[0].State != workflows.StateDenied {
		t.Fatalf("published %+v", finals)
	}
	// A permanent failure is not retried anywhere, not even as the
	// regular activity the lean and compact shapes fall back to.
	if d.local != 1 || d.regular != 0 {
		t.Fatalf("delivered %d times locally and %d as an activity; want one local try only", d.local, d.regular)
	}
}
