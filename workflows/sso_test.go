package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/workflows"
)

// newSSOEnv is newCountingEnv for method sso: each AuthorizeSSO draws
// state "state-1", "state-2"...; ExchangeSSO answers from exchange.
func newSSOEnv(t *testing.T, maxAttempts int, exchange func(n int) activities.SignOnResult) (*testsuite.TestWorkflowEnvironment, *[]string, *int) {
	t.Helper()
	env, finals, failures := newCountingEnv(t, attempt.MethodSSO, 10*time.Minute, maxAttempts)
	requests, exchanges := 0, 0
	env.OnActivity(acts.AuthorizeSSO, mock.Anything, mock.Anything).Return(func(context.Context, activities.SSOInput) (activities.AuthorizeSSOResult, error) {
		requests++
		return activities.AuthorizeSSOResult{StateDigest: "state-" + string(rune('0'+requests))}, nil
	})
	env.OnActivity(acts.ExchangeSSO, mock.Anything, mock.Anything).Return(func(context.Context, activities.SSOInput) (activities.SignOnResult, error) {
		exchanges++
		return exchange(exchanges), nil
	})
	return env, finals, failures
}

func TestSingleSignOnCompletesFromTheLatestRequest(t *testing.T) {
	env, finals, _ := newSSOEnv(t, 5, func(int) activities.SignOnResult {
		return activities.SignOnResult{Valid: true, Reason: "signed on"}
	})
	v := make([]workflows.Verdict, 5)
	errs := make([]error, 5)
	sub := func(d string) workflows.Submission { return workflows.Submission{AttemptID: attemptID, Digest: d} }
	// A wrong link digest draws nothing; two requests from the right link;
	// the first request's state is stale; the second's signs in.
	submit(env, 1*time.Second, workflows.UpdateAuthorizeSSO, sub("wrong"), &v[0], &errs[0])
	submit(env, 2*time.Second, workflows.UpdateAuthorizeSSO, sub("right"), &v[1], &errs[1])
	submit(env, 3*time.Second, workflows.UpdateAuthorizeSSO, sub("right"), &v[2], &errs[2])
	submit(env, 4*time.Second, workflows.UpdateConfirmSSO, sub("state-1"), &v[3], &errs[3])
	submit(env, 5*time.Second, workflows.UpdateConfirmSSO, sub("state-2"), &v[4], &errs[4])
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateAuthenticated {
		t.Fatalf("state = %s, want authenticated", res.State)
	}
	want := []string{workflows.VerdictRejected, workflows.VerdictAccepted, workflows.VerdictAccepted, workflows.VerdictRejected, workflows.VerdictAccepted}
	for i, w := range want {
		if errs[i] != nil || v[i].Verdict != w {
			t.Errorf("update %d: verdict %+v, err %v; want %s", i+1, v[i], errs[i], w)
		}
	}
	env.AssertNumberOfCalls(t, "AuthorizeSSO", 2)
	env.AssertNumberOfCalls(t, "ExchangeSSO", 1)
	if len(*finals) != 1 || (*finals)[0] != workflows.StateAuthenticated+" by sso" {
		t.Fatalf("published %v", *finals)
	}
}

func TestRefusedSignOnsCountTowardsTheLockOut(t *testing.T) {
	env, finals, failures := newSSOEnv(t, 2, func(int) activities.SignOnResult {
		return activities.SignOnResult{Reason: "sso refused: bad signature"}
	})
	v := make([]workflows.Verdict, 4)
	errs := make([]error, 4)
	sub := func(d string) workflows.Submission { return workflows.Submission{AttemptID: attemptID, Digest: d} }
	submit(env, 1*time.Second, workflows.UpdateAuthorizeSSO, sub("right"), &v[0], &errs[0])
	submit(env, 2*time.Second, workflows.UpdateConfirmSSO, sub("state-1"), &v[1], &errs[1])
	// The same state again: used, so not even looked at.
	submit(env, 3*time.Second, workflows.UpdateConfirmSSO, sub("state-1"), &v[2], &errs[2])
	submit(env, 4*time.Second, workflows.UpdateAuthorizeSSO, sub("right"), &v[3], &errs[3])
	var last workflows.Verdict
	var lastErr error
	submit(env, 5*time.Second, workflows.UpdateConfirmSSO, sub("state-2"), &last, &lastErr)
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateLocked {
		t.Fatalf("state = %s, want locked", res.State)
	}
	if v[1].Verdict != workflows.VerdictRejected || v[1].Remaining != 1 || v[2].Verdict != workflows.VerdictRejected {
		t.Fatalf("verdicts = %+v (%v)", v, errs)
	}
	if lastErr != nil || last.Verdict != workflows.VerdictClosed || last.State != workflows.StateLocked {
		t.Fatalf("last = %+v, %v", last, lastErr)
	}
	if *failures != 2 {
		t.Fatalf("%d failures recorded, want 2", *failures)
	}
	if len(*finals) != 1 || (*finals)[0] != workflows.StateLocked {
		t.Fatalf("published %v", *finals)
	}
}

// A genuine identity refused (no proof of its email, another user's) is
// not a guess: the attempt ends denied at once (the workflow completes) and
// no failure is recorded, however low the lock-out.
func TestRefusedSignOnBindingEndsTheAttemptWithoutCountingAFailure(t *testing.T) {
	env, finals, failures := newSSOEnv(t, 1, func(int) activities.SignOnResult {
		return activities.SignOnResult{Refused: true, Reason: "sso refused: first sign-on needs an email the provider vouches for"}
	})
	v := make([]workflows.Verdict, 2)
	errs := make([]error, 2)
	sub := func(d string) workflows.Submission { return workflows.Submission{AttemptID: attemptID, Digest: d} }
	submit(env, 1*time.Second, workflows.UpdateAuthorizeSSO, sub("right"), &v[0], &errs[0])
	submit(env, 2*time.Second, workflows.UpdateConfirmSSO, sub("state-1"), &v[1], &errs[1])
	env.ExecuteWorkflow(workflows.Attempt, input)

	res := result(t, env)
	if res.State != workflows.StateDenied || len(res.Reasons) != 1 || res.Reasons[0] != "sso refused: first sign-on needs an email the provider vouches for" {
		t.Fatalf("result = %+v, want denied with the refusal's reason", res)
	}
	if errs[1] != nil || v[1].Verdict != workflows.VerdictClosed || v[1].State != workflows.StateDenied {
		t.Fatalf("callback verdict = %+v, %v; want closed, denied", v[1], errs[1])
	}
	if *failures != 0 {
		t.Fatalf("%d failures recorded, want none", *failures)
	}
	env.AssertNotCalled(t, "RecordFailure", mock.Anything, mock.Anything)
	if len(*finals) != 1 || (*finals)[0] != workflows.StateDenied {
		t.Fatalf("published %v", *finals)
	}
}

func TestSignOnUpdatesNeedAnSSOAttempt(t *testing.T) {
	env, _ := newEnv(t, attempt.MethodPasswordless, time.Minute, 5)
	var v workflows.Verdict
	var err error
	submit(env, time.Second, workflows.UpdateAuthorizeSSO, workflows.Submission{AttemptID: attemptID, Digest: "right"}, &v, &err)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if err == nil || err.Error() != workflows.ErrWrongMethod.Error() {
		t.Fatalf("sso request on a link attempt: verdict %+v, err %v", v, err)
	}
	env.AssertNotCalled(t, "AuthorizeSSO", mock.Anything, mock.Anything)
}
