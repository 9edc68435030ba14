package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/workflows"
)

// deliveries counts where a challenge was delivered: inside the workflow
// task (IssueChallenge as a local activity, or the compact shape's
// BeginAndIssue of an attempt that delivers one) or as a regular activity.
type deliveries struct{ local, regular int }

func (d *deliveries) listen(env *testsuite.TestWorkflowEnvironment) {
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		if info.ActivityType.Name == "IssueChallenge" || info.ActivityType.Name == "BeginAndIssue" {
			d.local++
		}
	})
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "IssueChallenge" {
			d.regular++
		}
	})
}

// signInWithPIN runs a PIN attempt of the given shape whose delivery
// answers with issue, submits the right code after a minute, and returns
// the attempt's result and where the delivery ran.
func signInWithPIN(t *testing.T, shape int, issue func(context.Context, activities.IssueInput) (activities.IssueResult, error)) (workflows.AttemptResult, workflows.Verdict, deliveries) {
	t.Helper()
	env, _, _ := newIssuingEnv(t, policies.MethodPIN, 5*time.Minute, 3, issue)
	var d deliveries
	d.listen(env)
	var v workflows.Verdict
	var err error
	submit(env, time.Minute, workflows.UpdateSubmitCode, workflows.Submission{AttemptID: attemptID, Digest: "right"}, &v, &err)
	in := input
	in.Shape = shape
	env.ExecuteWorkflow(workflows.Attempt, in)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return result(t, env), v, d
}

func delivered(context.Context, activities.IssueInput) (activities.IssueResult, error) {
	return activities.IssueResult{Digest: "right", Channel: "email"}, nil
}

func TestLeanShapeDeliversInsideTheWorkflowTask(t *testing.T) {
	res, v, d := signInWithPIN(t, workflows.ShapeLean, delivered)
	if res.State != workflows.StateAuthenticated || v.Verdict != workflows.VerdictAccepted {
		t.Fatalf("result %+v, verdict %+v; want authenticated", res, v)
	}
	if d.local != 1 || d.regular != 0 {
		t.Fatalf("delivered %d times locally and %d as an activity; want once, locally", d.local, d.regular)
	}
}

// A delivery that fails for a reason a retry may mend (the mail server is
// down, the worker timed out) goes on as a regular activity with its
// retries; the attempt is not lost.
func TestLeanShapeRetriesAFailedDeliveryAsAnActivity(t *testing.T) {
	calls := 0
	res, v, d := signInWithPIN(t, workflows.ShapeLean, func(ctx context.Context, in activities.IssueInput) (activities.IssueResult, error) {
		calls++
		if calls == 1 {
			return activities.IssueResult{}, errors.New("mail server: connection refused")
		}
		return delivered(ctx, in)
	})
	if res.State != workflows.StateAuthenticated || v.Verdict != workflows.VerdictAccepted {
		t.Fatalf("result %+v, verdict %+v; want authenticated after the retry", res, v)
	}
	if d.local != 1 || d.regular != 1 {
		t.Fatalf("delivered %d times locally and %d as an activity; want one of each", d.local, d.regular)
	}
}

// Attempts begun before the lean shape keep delivering as an activity.
func TestOriginalShapeDeliversAsAnActivity(t *testing.T) {
	res, v, d := signInWithPIN(t, 0, delivered)
	if res.State != workflows.StateAuthenticated || v.Verdict != workflows.VerdictAccepted {
		t.Fatalf("result %+v, verdict %+v; want authenticated", res, v)
	}
	if d.local != 0 || d.regular != 1 {
		t.Fatalf("delivered %d times locally and %d as an activity; want once, as an activity", d.local, d.regular)
	}
}
