package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// passwordChecks plays CheckPassword and ConfirmEnrolment: a password is
// right when its update's ID starts with "right", an enrolment code when
// its digest is "enrol-right". enrolled says whether the user has an
// authenticator already.
type passwordChecks struct {
	enrolled bool
	failures int
	secrets  []string // the secret keys the checks were asked to read
}

func (p *passwordChecks) check(_ context.Context, in activities.PasswordInput) (activities.PasswordResult, error) {
	p.secrets = append(p.secrets, in.SecretKey)
	if p.failures >= in.MaxAttempts {
		return activities.PasswordResult{CodeResult: activities.CodeResult{Refused: true, Locked: true, Failures: p.failures}}, nil
	}
	if strings.HasPrefix(in.SecretKey, attempt.PasswordSecretKey("right")) {
		step := store.StepEnrol
		if p.enrolled {
			step = store.StepTOTP
		}
		return activities.PasswordResult{CodeResult: activities.CodeResult{Valid: true}, Step: step}, nil
	}
	p.failures++
	return activities.PasswordResult{CodeResult: activities.CodeResult{
		Failures: p.failures, Locked: p.failures >= in.MaxAttempts, Reason: "wrong password",
	}}, nil
}

func newPasswordEnv(t *testing.T, enrolled bool, ttl time.Duration, maxAttempts int) (*testsuite.TestWorkflowEnvironment, *[]string, *passwordChecks) {
	env, finals, _ := newCheckingEnv(t, attempt.MethodPassword, ttl, maxAttempts)
	p := &passwordChecks{enrolled: enrolled}
	env.OnActivity(acts.CheckPassword, mock.Anything, mock.Anything).Return(p.check)
	env.OnActivity(acts.ConfirmEnrolment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EnrolmentInput) (store.EnrolmentOutcome, error) {
			if in.Digest == "enrol-right" {
				return store.EnrolmentOutcome{Valid: true}, nil
			}
			return store.EnrolmentOutcome{Reason: "wrong enrolment code"}, nil
		})
	return env, finals, p
}

// update sends an update with its own ID after delay.
func update(env *testsuite.TestWorkflowEnvironment, delay time.Duration, name, id string, sub workflows.Submission, out *workflows.Verdict, outErr *error) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
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

func pw(browser string) workflows.Submission {
	return workflows.Submission{AttemptID: attemptID, Browser: browser}
}

func code(browser, digest, factor string) workflows.Submission {
	return workflows.Submission{AttemptID: attemptID, Browser: browser, Digest: digest, Factor: factor}
}

func TestPasswordThenTOTPAuthenticates(t *testing.T) {
	env, finals, p := newPasswordEnv(t, true, 5*time.Minute, 5)
	v := make([]workflows.Verdict, 5)
	errs := make([]error, 5)
	// A code before the password is refused unseen.
	update(env, 1*time.Second, workflows.UpdateSubmitCode, "c0", code("b1", "totp-right", "totp"), &v[0], &errs[0])
	update(env, 2*time.Second, workflows.UpdateSubmitPassword, "wrong-1", pw("b1"), &v[1], &errs[1])
	update(env, 3*time.Second, workflows.UpdateSubmitPassword, "right-1", pw("b1"), &v[2], &errs[2])
	// Another browser, which did not give the password, cannot go on.
	update(env, 4*time.Second, workflows.UpdateSubmitCode, "c1", code("b2", "totp-right", "totp"), &v[3], &errs[3])
	update(env, 5*time.Second, workflows.UpdateSubmitCode, "c2", code("b1", "totp-right", "totp"), &v[4], &errs[4])
	env.ExecuteWorkflow(workflows.Attempt, input)

	if res := result(t, env); res.State != workflows.StateAuthenticated {
		t.Fatalf("state = %s, want authenticated", res.State)
	}
	if !errors.Is(errs[0], workflows.ErrWrongStep) && (errs[0] == nil || !strings.Contains(errs[0].Error(), workflows.ErrWrongStep.Error())) {
		t.Errorf("code before the password: err %v, want %v", errs[0], workflows.ErrWrongStep)
	}
	if errs[1] != nil || v[1].Verdict != workflows.VerdictRejected || v[1].Remaining != 4 || v[1].Step != store.StepPassword {
		t.Errorf("wrong password: %+v, %v", v[1], errs[1])
	}
	if errs[2] != nil || v[2].Verdict != workflows.VerdictAccepted || v[2].Step != store.StepTOTP || v[2].State != workflows.StatePending {
		t.Errorf("right password: %+v, %v", v[2], errs[2])
	}
	if errs[3] == nil || !strings.Contains(errs[3].Error(), workflows.ErrWrongStep.Error()) {
		t.Errorf("code from another browser: %+v, %v; want refused", v[3], errs[3])
	}
	if errs[4] != nil || v[4].Verdict != workflows.VerdictAccepted {
		t.Errorf("code: %+v, %v", v[4], errs[4])
	}
	if strings.Join(*finals, ",") != "authenticated by totp" {
		t.Errorf("published %v, want [authenticated by totp]", *finals)
	}
	// Each password was read from the secret its own update named.
	want := []string{attempt.PasswordSecretKey("wrong-1"), attempt.PasswordSecretKey("right-1")}
	if strings.Join(p.secrets, ",") != strings.Join(want, ",") {
		t.Errorf("secrets read %v, want %v", p.secrets, want)
	}
}

func TestRecoveryCodeIsTakenAfterThePassword(t *testing.T) {
	env, finals, _ := newPasswordEnv(t, true, 5*time.Minute, 5)
	var v1, v2 workflows.Verdict
	var e1, e2 error
	update(env, 1*time.Second, workflows.UpdateSubmitPassword, "right-1", pw("b1"), &v1, &e1)
	update(env, 2*time.Second, workflows.UpdateSubmitCode, "c1", code("b1", "recovery-right", "recovery"), &v2, &e2)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateAuthenticated {
		t.Fatalf("state = %s, want authenticated", res.State)
	}
	if strings.Join(*finals, ",") != "authenticated by recovery" {
		t.Errorf("published %v, want [authenticated by recovery]", *finals)
	}
}

func TestWrongPasswordsLockTheAttempt(t *testing.T) {
	env, finals, _ := newPasswordEnv(t, true, 5*time.Minute, 3)
	v := make([]workflows.Verdict, 3)
	errs := make([]error, 3)
	for i := range 3 {
		update(env, time.Duration(i+1)*time.Second, workflows.UpdateSubmitPassword, "wrong-"+string(rune('a'+i)), pw("b1"), &v[i], &errs[i])
	}
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateLocked {
		t.Fatalf("state = %s, want locked", res.State)
	}
	if v[0].Remaining != 2 || v[1].Remaining != 1 || v[2].Verdict != workflows.VerdictClosed || v[2].State != workflows.StateLocked {
		t.Errorf("verdicts %+v (errs %v)", v, errs)
	}
	if strings.Join(*finals, ",") != workflows.StateLocked {
		t.Errorf("published %v, want [locked]", *finals)
	}
}

func TestWrongTOTPCodesAfterThePasswordLockOnlyWithRecoveryLocked(t *testing.T) {
	env, finals, _ := newPasswordEnv(t, true, 5*time.Minute, 2)
	v := make([]workflows.Verdict, 6)
	errs := make([]error, 6)
	update(env, 1*time.Second, workflows.UpdateSubmitPassword, "right-1", pw("b1"), &v[0], &errs[0])
	update(env, 2*time.Second, workflows.UpdateSubmitCode, "c1", code("b1", "x", "totp"), &v[1], &errs[1])
	update(env, 3*time.Second, workflows.UpdateSubmitCode, "c2", code("b1", "x", "totp"), &v[2], &errs[2])
	// TOTP is locked; a recovery code is still taken.
	update(env, 4*time.Second, workflows.UpdateSubmitCode, "c3", code("b1", "x", "recovery"), &v[3], &errs[3])
	update(env, 5*time.Second, workflows.UpdateSubmitCode, "c4", code("b1", "x", "recovery"), &v[4], &errs[4])
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateLocked {
		t.Fatalf("state = %s, want locked", res.State)
	}
	if v[2].Verdict != workflows.VerdictRejected || v[2].State != workflows.StatePending {
		t.Errorf("with only totp locked the attempt goes on: %+v", v[2])
	}
	if v[4].State != workflows.StateLocked {
		t.Errorf("with totp and recovery locked: %+v, want locked", v[4])
	}
	if strings.Join(*finals, ",") != workflows.StateLocked {
		t.Errorf("published %v", *finals)
	}
}

func TestForcedEnrolmentAuthenticates(t *testing.T) {
	env, finals, _ := newPasswordEnv(t, false, 15*time.Minute, 5)
	v := make([]workflows.Verdict, 4)
	errs := make([]error, 4)
	update(env, 1*time.Second, workflows.UpdateSubmitPassword, "right-1", pw("b1"), &v[0], &errs[0])
	// At enrolment a TOTP code is not what is asked for.
	update(env, 2*time.Second, workflows.UpdateSubmitCode, "c1", code("b1", "totp-right", "totp"), &v[1], &errs[1])
	update(env, 3*time.Second, workflows.UpdateConfirmEnrolment, "e1", code("b1", "enrol-wrong", ""), &v[2], &errs[2])
	update(env, 4*time.Second, workflows.UpdateConfirmEnrolment, "e2", code("b1", "enrol-right", ""), &v[3], &errs[3])
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateAuthenticated {
		t.Fatalf("state = %s, want authenticated", res.State)
	}
	if v[0].Step != store.StepEnrol {
		t.Errorf("right password: step %q, want enrol", v[0].Step)
	}
	if errs[1] == nil {
		t.Errorf("a totp code at enrolment was taken: %+v", v[1])
	}
	if errs[2] != nil || v[2].Verdict != workflows.VerdictRejected || v[2].State != workflows.StatePending {
		t.Errorf("wrong enrolment code: %+v, %v", v[2], errs[2])
	}
	if errs[3] != nil || v[3].Verdict != workflows.VerdictAccepted {
		t.Errorf("enrolment: %+v, %v", v[3], errs[3])
	}
	if strings.Join(*finals, ",") != "authenticated by totp" {
		t.Errorf("published %v", *finals)
	}
}

func TestPasswordWithoutSecondFactorExpires(t *testing.T) {
	env, finals, _ := newPasswordEnv(t, true, 2*time.Minute, 5)
	var v workflows.Verdict
	var err error
	update(env, 10*time.Second, workflows.UpdateSubmitPassword, "right-1", pw("b1"), &v, &err)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if res := result(t, env); res.State != workflows.StateExpired {
		t.Fatalf("state = %s, want expired", res.State)
	}
	if strings.Join(*finals, ",") != workflows.StateExpired {
		t.Errorf("published %v", *finals)
	}
	env.AssertNotCalled(t, "IssueChallenge", mock.Anything, mock.Anything)
}

func TestPasswordIsTakenOnceRight(t *testing.T) {
	env, _, _ := newPasswordEnv(t, true, 5*time.Minute, 5)
	var v1, v2 workflows.Verdict
	var e1, e2 error
	update(env, 1*time.Second, workflows.UpdateSubmitPassword, "right-1", pw("b1"), &v1, &e1)
	// Someone else with the URL cannot take the attempt over.
	update(env, 2*time.Second, workflows.UpdateSubmitPassword, "right-2", pw("b2"), &v2, &e2)
	env.ExecuteWorkflow(workflows.Attempt, input)
	if e2 == nil || !strings.Contains(e2.Error(), workflows.ErrWrongStep.Error()) {
		t.Fatalf("second password: %+v, %v; want refused", v2, e2)
	}
}

func TestSSOPageDigestAuthorizes(t *testing.T) {
	env, _, _ := newSSOEnv(t, 5, func(int) activities.SignOnResult { return activities.SignOnResult{Valid: true} })
	in := input
	in.PageDigest = "page-digest"
	var v workflows.Verdict
	var err error
	submit(env, time.Second, workflows.UpdateAuthorizeSSO, workflows.Submission{AttemptID: attemptID, Digest: "page-digest"}, &v, &err)
	env.ExecuteWorkflow(workflows.Attempt, in)
	if err != nil || v.Verdict != workflows.VerdictAccepted {
		t.Fatalf("page digest: %+v, %v", v, err)
	}
}
