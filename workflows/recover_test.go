package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// recoverEnv is a password attempt of an enrolled user whose RecoverByEmail
// takes the link digest "link-right" once.
func recoverEnv(t *testing.T, ttl time.Duration) (*testsuite.TestWorkflowEnvironment, *[]string, *[]string) {
	env, finals, _ := newPasswordEnv(t, true, ttl, 5)
	used, effects := false, &[]string{}
	env.OnActivity(acts.RecoverByEmail, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecoverInput) (store.RecoveryOutcome, error) {
			*effects = append(*effects, in.Effect)
			if in.LinkDigest != "link-right" || used {
				return store.RecoveryOutcome{Reason: "the recover link is unknown, used, voided or expired"}, nil
			}
			used = true
			return store.RecoveryOutcome{Valid: true}, nil
		})
	return env, finals, effects
}

func link(browser, digest string) workflows.Submission {
	return workflows.Submission{AttemptID: attemptID, Browser: browser, Digest: digest}
}

func TestRecoverByEmailMovesTheAttemptToEnrolment(t *testing.T) {
	env, finals, effects := recoverEnv(t, 10*time.Minute)
	v := make([]workflows.Verdict, 7)
	errs := make([]error, 7)
	// Before the password, the link is refused unseen.
	update(env, 1*time.Second, workflows.UpdateRecoverByEmail, "r0", link("b1", "link-right"), &v[0], &errs[0])
	update(env, 2*time.Second, workflows.UpdateSubmitPassword, "right-1", pw("b1"), &v[1], &errs[1])
	// Another browser (the application holding the URL) cannot use it.
	update(env, 3*time.Second, workflows.UpdateRecoverByEmail, "r1", link("b2", "link-right"), &v[2], &errs[2])
	update(env, 4*time.Second, workflows.UpdateRecoverByEmail, "r2", link("b1", "link-wrong"), &v[3], &errs[3])
	// The link arrives minutes later: virtual time skips there.
	update(env, 6*time.Minute, workflows.UpdateRecoverByEmail, "r3", link("b1", "link-right"), &v[4], &errs[4])
	// Now at enrolment: no TOTP code, no second recovery; a new app signs in.
	update(env, 6*time.Minute+time.Second, workflows.UpdateSubmitCode, "c1", code("b1", "totp-right", "totp"), &v[5], &errs[5])
	update(env, 7*time.Minute, workflows.UpdateConfirmEnrolment, "e1", code("b1", "enrol-right", ""), &v[6], &errs[6])
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateAuthenticated {
		t.Fatalf("state = %s, want authenticated", res.State)
	}
	for _, i := range []int{0, 2, 5} {
		if errs[i] == nil || !strings.Contains(errs[i].Error(), workflows.ErrWrongStep.Error()) {
			t.Errorf("submission %d: %+v, %v; want refused at validation", i, v[i], errs[i])
		}
	}
	if errs[3] != nil || v[3].Verdict != workflows.VerdictRejected || v[3].State != workflows.StatePending || v[3].Step != store.StepTOTP {
		t.Errorf("a wrong link: %+v, %v; want rejected at the totp step", v[3], errs[3])
	}
	if errs[4] != nil || v[4].Verdict != workflows.VerdictAccepted || v[4].Step != store.StepEnrol || v[4].State != workflows.StatePending {
		t.Errorf("the link: %+v, %v; want accepted, at enrolment", v[4], errs[4])
	}
	if errs[6] != nil || v[6].Verdict != workflows.VerdictAccepted {
		t.Errorf("enrolment: %+v, %v", v[6], errs[6])
	}
	if strings.Join(*finals, ",") != "authenticated by totp" {
		t.Errorf("published %v, want [authenticated by totp]", *finals)
	}
	// Only the two links that passed validation reached the activity, each
	// under its own update.
	if strings.Join(*effects, ",") != "recover:r2,recover:r3" {
		t.Errorf("effects %v", *effects)
	}
}

func TestRecoverByEmailDoesNotOutliveTheAttempt(t *testing.T) {
	env, finals, effects := recoverEnv(t, 10*time.Minute)
	var v1, v2 workflows.Verdict
	var e1, e2 error
	update(env, time.Second, workflows.UpdateSubmitPassword, "right-1", pw("b1"), &v1, &e1)
	// The link is opened after the attempt's ten minutes.
	update(env, 11*time.Minute, workflows.UpdateRecoverByEmail, "r1", link("b1", "link-right"), &v2, &e2)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateExpired {
		t.Fatalf("state = %s, want expired", res.State)
	}
	if e2 == nil && v2.Verdict == workflows.VerdictAccepted {
		t.Errorf("a link after the attempt expired was taken: %+v", v2)
	}
	if len(*effects) != 0 {
		t.Errorf("the expired attempt ran RecoverByEmail: %v", *effects)
	}
	if strings.Join(*finals, ",") != workflows.StateExpired {
		t.Errorf("published %v", *finals)
	}
}
