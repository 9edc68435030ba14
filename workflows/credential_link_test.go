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
	"github.com/flexauth/flexauth/workflows"
)

var linkInput = activities.CredentialLinkInput{LinkID: "link-1", AccountID: "acc"}

// newLinkEnv runs CredentialLink with deliver as its delivery and records
// the failures it reports.
func newLinkEnv(t *testing.T, deliver func(context.Context, activities.CredentialLinkInput) (activities.CredentialLinkResult, error)) (*testsuite.TestWorkflowEnvironment, *[]activities.FailLinkInput) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.CredentialLink)
	env.RegisterActivity(acts)
	env.OnActivity(acts.DeliverCredentialLink, mock.Anything, mock.Anything).Return(deliver)
	failed := &[]activities.FailLinkInput{}
	env.OnActivity(acts.FailCredentialLink, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FailLinkInput) error {
		*failed = append(*failed, in)
		return nil
	})
	return env, failed
}

func linkResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.CredentialLinkResult {
	t.Helper()
	return completed[workflows.CredentialLinkResult](t, env)
}

func TestCredentialLinkWorkflow(t *testing.T) {
	t.Run("a delivered link ends sent, nothing voided", func(t *testing.T) {
		var got []activities.CredentialLinkInput
		env, failed := newLinkEnv(t, func(_ context.Context, in activities.CredentialLinkInput) (activities.CredentialLinkResult, error) {
			got = append(got, in)
			return activities.CredentialLinkResult{State: activities.LinkSent}, nil
		})
		env.ExecuteWorkflow(workflows.CredentialLink, linkInput)
		if res := linkResult(t, env); res.State != activities.LinkSent {
			t.Fatalf("state = %s, want sent", res.State)
		}
		if len(got) != 1 || got[0] != linkInput || len(*failed) != 0 {
			t.Fatalf("deliveries %v, failures %v; want one delivery of the link, no failure", got, *failed)
		}
	})

	t.Run("a mail server that is down for an hour delays the link, retried until it goes", func(t *testing.T) {
		calls := 0
		env, failed := newLinkEnv(t, func(context.Context, activities.CredentialLinkInput) (activities.CredentialLinkResult, error) {
			calls++
			if calls < 15 {
				return activities.CredentialLinkResult{}, errors.New("connection refused")
			}
			return activities.CredentialLinkResult{State: activities.LinkSent}, nil
		})
		start := env.Now()
		env.ExecuteWorkflow(workflows.CredentialLink, linkInput)
		if res := linkResult(t, env); res.State != activities.LinkSent || len(*failed) != 0 {
			t.Fatalf("state = %s, failures %v; want sent", res.State, *failed)
		}
		if took := env.Now().Sub(start); took < time.Hour {
			t.Fatalf("15 tries took %v of workflow time; the retries should span over an hour", took)
		}
	})

	t.Run("a link used or voided meanwhile ends closed, nothing recorded", func(t *testing.T) {
		env, failed := newLinkEnv(t, func(context.Context, activities.CredentialLinkInput) (activities.CredentialLinkResult, error) {
			return activities.CredentialLinkResult{State: activities.LinkClosed}, nil
		})
		env.ExecuteWorkflow(workflows.CredentialLink, linkInput)
		if res := linkResult(t, env); res.State != activities.LinkClosed || len(*failed) != 0 {
			t.Fatalf("state = %s, failures %v; want closed and none", res.State, *failed)
		}
	})

	t.Run("a refusal is not retried: the link is voided with the reason", func(t *testing.T) {
		calls := 0
		env, failed := newLinkEnv(t, func(context.Context, activities.CredentialLinkInput) (activities.CredentialLinkResult, error) {
			calls++
			return activities.CredentialLinkResult{}, temporal.NewNonRetryableApplicationError("the user has no email address", activities.ErrTypeDelivery, nil)
		})
		env.ExecuteWorkflow(workflows.CredentialLink, linkInput)
		res := linkResult(t, env)
		if res.State != workflows.LinkFailed || calls != 1 {
			t.Fatalf("state = %s after %d tries, want failed after 1", res.State, calls)
		}
		if len(*failed) != 1 || (*failed)[0].LinkID != "link-1" || (*failed)[0].AccountID != "acc" ||
			!strings.Contains((*failed)[0].Reason, "the user has no email address") {
			t.Fatalf("failures = %+v, want link-1 voided with the reason", *failed)
		}
	})

	t.Run("retries run out after hours: the link is voided, the failure recorded", func(t *testing.T) {
		calls := 0
		env, failed := newLinkEnv(t, func(context.Context, activities.CredentialLinkInput) (activities.CredentialLinkResult, error) {
			calls++
			return activities.CredentialLinkResult{}, errors.New("connection refused")
		})
		start := env.Now()
		env.ExecuteWorkflow(workflows.CredentialLink, linkInput)
		res := linkResult(t, env)
		if res.State != workflows.LinkFailed || len(*failed) != 1 || !strings.Contains(res.Reasons[0], "connection refused") {
			t.Fatalf("result %+v, failures %+v; want failed with the last error", res, *failed)
		}
		if calls != 25 || env.Now().Sub(start) < 2*time.Hour {
			t.Fatalf("%d tries over %v, want 25 over more than two hours", calls, env.Now().Sub(start))
		}
	})
}
