package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/historytest"
	"github.com/flexauth/flexauth/workflows"
)

// deliveries counts where a challenge was delivered: inside the workflow
// task (IssueChallenge as a local activity) or as a regular activity.
type deliveries struct{ local, regular int }

func (d *deliveries) listen(env *testsuite.TestWorkflowEnvironment) {
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		if info.ActivityType.Name == "IssueChallenge" {
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
	env, _, _ := newIssuingEnv(t, attempt.MethodPIN, 5*time.Minute, 3, issue)
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
// retries; the attempt is not lost. Both shapes that deliver inside the
// workflow task do so.
func TestFailedDeliveryIsRetriedAsAnActivity(t *testing.T) {
	for _, shape := range []int{workflows.ShapeLean, workflows.ShapeCompact} {
		t.Run(fmt.Sprint("shape ", shape), func(t *testing.T) {
			calls := 0
			res, v, d := signInWithPIN(t, shape, func(ctx context.Context, in activities.IssueInput) (activities.IssueResult, error) {
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
		})
	}
}

// The compact shape delivers inside the workflow task as the lean one
// does, and a right code ends the attempt with its check: no Finish runs.
func TestCompactShapePublishesWithItsCheck(t *testing.T) {
	env, finals, _ := newIssuingEnv(t, attempt.MethodPIN, 5*time.Minute, 3, delivered)
	var d deliveries
	d.listen(env)
	finishes := 0
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		switch info.ActivityType.Name {
		case "IssueChallenge":
			d.local++
		case "Finish":
			finishes++
		}
	})
	var v workflows.Verdict
	var err error
	submit(env, time.Minute, workflows.UpdateSubmitCode, workflows.Submission{AttemptID: attemptID, Digest: "right"}, &v, &err)
	in := input
	in.Shape = workflows.ShapeCompact
	env.ExecuteWorkflow(workflows.Attempt, in)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	res := result(t, env)
	if res.State != workflows.StateAuthenticated || v.Verdict != workflows.VerdictAccepted || len(res.Reasons) != 1 || res.Reasons[0] != "correct pin" {
		t.Fatalf("result %+v, verdict %+v; want authenticated", res, v)
	}
	if d.local != 1 || d.regular != 0 || finishes != 0 {
		t.Fatalf("delivered %d times locally and %d as an activity, ran Finish %d times; want one local delivery and no Finish", d.local, d.regular, finishes)
	}
	if len(*finals) != 1 || (*finals)[0] != "authenticated by pin" {
		t.Fatalf("published %v, want the check's success once", *finals)
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

// TestPINSignInEvents runs a PIN sign-in answered at the first try on a
// Temporal server, as the API drives it (update-with-start, then the
// code), and counts its history: what a sign-in costs Temporal's
// database. The compact shape takes one event (Finish's marker) fewer
// than the lean one.
func TestPINSignInEvents(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	ts.NewWorkerWithOptions(workflows.TaskQueue, func(r sdkworker.Registry) {
		r.RegisterWorkflow(workflows.Attempt)
		begun := activities.BeginResult{Allowed: true, UserID: "u1", Method: attempt.MethodPIN, TTL: 5 * time.Minute, MaxAttempts: 3}
		stub := func(name string, fn any) { r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
		stub("Begin", func(context.Context, activities.BeginInput) (activities.BeginResult, error) { return begun, nil })
		stub("IssueChallenge", delivered)
		stub("CheckCode", func(_ context.Context, in activities.CodeInput) (activities.CodeResult, error) {
			valid := in.Digest == in.Expected
			return activities.CodeResult{Valid: valid, Published: valid && in.OnValid != nil}, nil
		})
		stub("Finish", func(context.Context, activities.FinishInput) error { return nil })
	}, sdkworker.Options{})
	c := ts.GetDefaultClient()
	for _, tc := range []struct {
		shape, events int
	}{{workflows.ShapeLean, 17}, {workflows.ShapeCompact, 16}} {
		ctx := t.Context()
		in := input
		in.Shape = tc.shape
		id := fmt.Sprint("attempt/shape-", tc.shape)
		op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
			ID: id, TaskQueue: workflows.TaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		}, workflows.Attempt, in)
		h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: workflows.UpdateBegin, WaitForStage: client.WorkflowUpdateStageCompleted},
		})
		if err != nil {
			t.Fatal(err)
		}
		var begin workflows.BeginResult
		if err := h.Get(ctx, &begin); err != nil || !begin.Allowed {
			t.Fatalf("begin = %+v, %v", begin, err)
		}
		sub, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateName: workflows.UpdateSubmitCode, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{workflows.Submission{AttemptID: attemptID, Digest: "right", Factor: "pin"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var v workflows.Verdict
		if err := sub.Get(ctx, &v); err != nil || v.Verdict != workflows.VerdictAccepted {
			t.Fatalf("shape %d: verdict %+v, %v", tc.shape, v, err)
		}
		var res workflows.AttemptResult
		if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil || res.State != workflows.StateAuthenticated {
			t.Fatalf("shape %d: result %+v, %v", tc.shape, res, err)
		}
		hist, err := historytest.Fetch(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(hist.GetEvents()); n != tc.events {
			var types []string
			for _, e := range hist.GetEvents() {
				types = append(types, e.GetEventType().String())
			}
			t.Errorf("shape %d: %d events, want %d: %v", tc.shape, n, tc.events, types)
		}
	}
}
