package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Activity options. Every call has a StartToClose timeout and a bounded
// retry policy: a store or plugin outage delays an attempt, it never hangs
// it past its TTL.
var (
	localOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Second, MaximumAttempts: 5,
		},
	}
	// localDeliveryOptions bound a delivery made inside the workflow task
	// (ShapeLean). Its timeout is the regular activity's: a plugin call cut
	// short may still have delivered, and what follows a timeout is a
	// second delivery, so a slow mail server must not be cut off sooner
	// than before. Past the task's timeout the SDK heartbeats the task;
	// a failure goes on as a regular activity with deliveryOptions'
	// retries.
	localDeliveryOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			MaximumAttempts:        1,
			NonRetryableErrorTypes: []string{activities.ErrTypeDelivery, activities.ErrTypeNoSecret},
		},
	}
	deliveryOptions = workflow.ActivityOptions{
		// Long enough for a slow mail server, short enough that a delivery
		// lost with a crashed worker is retried well inside the TTL.
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 8,
			NonRetryableErrorTypes: []string{activities.ErrTypeDelivery, activities.ErrTypeNoSecret},
		},
	}
	verifyOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Second, MaximumAttempts: 5,
		},
	}
)

// acts is only ever nil: the workflow names activities through it, and the
// worker runs them on the real *Activities.
var acts *activities.Activities

// attempt is the workflow's state; update handlers and the main function
// share it (Temporal runs them one at a time, never in parallel).
type attemptRun struct {
	in       AttemptInput
	begun    bool
	begin    BeginResult
	userID   string
	max      int
	digest   string // keyed digest of the link token or PIN; "" for TOTP
	issued   bool   // the challenge is out (or, for TOTP, needs none)
	state    string
	failures int
	checking bool   // a submission is being checked; others wait their turn
	ssoState string // digest of the current sign-on request's state
	finished bool   // the final state is published
	reasons  []string
	// locked holds the user's factors known to be locked: from the start,
	// and those that lock during the attempt.
	locked map[string]bool
	// signedInWith is the factor that authenticated the attempt ("" for a
	// link): its run of failures ends when the success is published.
	signedInWith string
	// A password attempt's step (store.StepPassword, StepTOTP, StepEnrol),
	// the browser binding its later steps need, and its wrong enrolment
	// codes.
	step          string
	browser       string
	enrolFailures int
}

// maxEnrolFailures bounds wrong codes while enrolling: they guess nothing
// (the seed was just shown), but an attempt that cannot confirm ends.
const maxEnrolFailures = 10

// versionCodeCheck marks attempts whose codes are checked and counted by
// one CheckCode local activity per submission, keyed by the update, with a
// run of failures per factor. Attempts begun before it verify TOTP and
// record failures in two activities.
const versionCodeCheck = "code-check-per-factor"

// Attempt runs one authentication attempt from policy decision to outcome.
func Attempt(ctx workflow.Context, in AttemptInput) (AttemptResult, error) {
	st := &attemptRun{in: in, state: StatePending}
	subject := activities.Subject{AttemptID: in.AttemptID, AccountID: in.AccountID, System: in.System, AuthID: in.AuthID, IP: in.IP}

	if err := st.registerHandlers(ctx, subject); err != nil {
		return AttemptResult{}, err
	}

	info := workflow.GetInfo(ctx)
	var b activities.BeginResult
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), acts.Begin, activities.BeginInput{
		Subject: subject, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		UserAgent: in.UserAgent, StartedAt: workflow.Now(ctx), PageDigest: in.PageDigest,
	}).Get(ctx, &b)
	if err != nil {
		// The store is unreachable: fail closed. Nothing was promised yet.
		workflow.GetLogger(ctx).Error("begin attempt failed", "error", err)
		st.state, st.reasons, st.begun = StateDenied, []string{"internal error: " + err.Error()}, true
		st.finish(ctx, subject, StateDenied, st.reasons...)
		return st.result(ctx), nil
	}
	if !b.Allowed {
		st.state, st.reasons, st.finished, st.begun = StateDenied, b.Reasons, true, true
		return st.result(ctx), nil
	}

	st.userID, st.max, st.failures = b.UserID, b.MaxAttempts, b.RecentFailures
	st.locked = map[string]bool{}
	for _, f := range b.LockedFactors {
		st.locked[f] = true
	}
	expires := workflow.Now(ctx).Add(b.TTL)
	st.begin = BeginResult{Allowed: true, AttemptID: in.AttemptID, Method: b.Method, ExpiresAt: expires}
	st.begun = true

	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	if in.Shape < ShapeLean {
		// The original shape cancels the timer as the run completes (a
		// TimerCanceled event); the lean one lets it go with the run.
		defer cancelTimer()
	}
	expired := false
	workflow.Go(timerCtx, func(ctx workflow.Context) {
		if workflow.NewTimer(ctx, b.TTL).Get(ctx, nil) == nil {
			expired = true
		}
	})

	if b.Method == attempt.MethodPassword {
		st.step = store.StepPassword
	}
	if b.Method == attempt.MethodTOTP || b.Method == attempt.MethodPassword {
		// Nothing to deliver: the user answers with what they know or hold.
		st.issued = true
	} else {
		issued, err := st.deliver(ctx, activities.IssueInput{
			Subject: subject, UserID: b.UserID, Method: b.Method, Channel: b.Channel, ExpiresAt: expires,
		})
		if err != nil && st.state == StatePending {
			// Undeliverable: nobody can answer this attempt, so it ends now
			// rather than at its TTL. Fail closed.
			st.state = StateDenied
			st.finish(ctx, subject, StateDenied, "delivery failed: "+errorMessage(err))
		}
		st.digest, st.issued = issued.Digest, true
	}

	_ = workflow.Await(ctx, func() bool { return st.state != StatePending || expired })
	if st.state == StatePending {
		st.state = StateExpired
		st.finish(ctx, subject, StateExpired, "not confirmed within its lifetime")
	}
	return st.result(ctx), nil
}

// deliver issues the challenge. The lean shape tries once inside the
// workflow task (no activity task to dispatch, no further workflow task to
// read its result), then as a regular activity with retries when that
// failed for a reason other than a permanent one. Both are IssueChallenge,
// which sends the same secret under the same delivery id each time, so a
// second try after a lost answer is a duplicate the plugin drops.
func (st *attemptRun) deliver(ctx workflow.Context, in activities.IssueInput) (activities.IssueResult, error) {
	var issued activities.IssueResult
	if st.in.Shape >= ShapeLean {
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localDeliveryOptions), acts.IssueChallenge, in).Get(ctx, &issued)
		if err == nil || isPermanentDelivery(err) {
			return issued, err
		}
		workflow.GetLogger(ctx).Warn("delivery inside the workflow task failed; retrying as an activity", "error", err)
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, deliveryOptions), acts.IssueChallenge, in).Get(ctx, &issued)
	return issued, err
}

// isPermanentDelivery reports a failure that no retry mends.
func isPermanentDelivery(err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return false
	}
	return appErr.Type() == activities.ErrTypeDelivery || appErr.Type() == activities.ErrTypeNoSecret || appErr.NonRetryable()
}

func (st *attemptRun) registerHandlers(ctx workflow.Context, subject activities.Subject) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateBegin,
		func(ctx workflow.Context) (BeginResult, error) {
			_ = workflow.Await(ctx, func() bool { return st.begun })
			return st.begin, nil
		}, workflow.UpdateHandlerOptions{})
	if err != nil {
		return err
	}

	// The submissions: each update's handler and the validator that keeps
	// what it cannot take out of history.
	type handler func(workflow.Context, activities.Subject, Submission) (Verdict, error)
	for _, u := range []struct {
		name     string
		handle   handler
		validate func(workflow.Context, Submission) error
	}{
		{UpdateSubmitCode, st.submitCode, st.codeValidator},
		{UpdateConfirmLink, st.confirmLink, st.validator(attempt.MethodPasswordless)},
		{UpdateAuthorizeSSO, st.authorizeSSO, st.validator(attempt.MethodSSO)},
		{UpdateConfirmSSO, st.confirmSSO, st.validator(attempt.MethodSSO)},
		{UpdateSubmitPassword, st.submitPassword, st.stepValidator(store.StepPassword)},
		{UpdateConfirmEnrolment, st.confirmEnrolment, st.stepValidator(store.StepEnrol)},
		{UpdateRecoverByEmail, st.recoverByEmail, st.stepValidator(store.StepTOTP)},
	} {
		handle := u.handle
		err = workflow.SetUpdateHandlerWithOptions(ctx, u.name,
			func(ctx workflow.Context, sub Submission) (Verdict, error) { return handle(ctx, subject, sub) },
			workflow.UpdateHandlerOptions{Validator: u.validate})
		if err != nil {
			return err
		}
	}

	return workflow.SetQueryHandler(ctx, QueryState, func() (State, error) {
		return State{AttemptID: st.in.AttemptID, State: st.state, Method: st.begin.Method,
			Failures: st.failures, ExpiresAt: st.begin.ExpiresAt, Step: st.step}, nil
	})
}

// Validation errors: a rejected update never reaches history.
var (
	ErrStaleAttempt = errors.New("submission is for another attempt")
	ErrNotPending   = errors.New("attempt is not pending")
	ErrWrongMethod  = errors.New("attempt does not use this method")
	ErrWrongStep    = errors.New("attempt is not at this step, or the submission is from another browser")
)

func (st *attemptRun) validator(methods ...string) func(workflow.Context, Submission) error {
	return func(_ workflow.Context, sub Submission) error {
		switch {
		case sub.AttemptID != st.in.AttemptID:
			return ErrStaleAttempt
		case st.state != StatePending || !st.begun:
			return ErrNotPending
		}
		for _, m := range methods {
			if st.begin.Method == m {
				return nil
			}
		}
		return ErrWrongMethod
	}
}

// codeValidator takes codes for PIN and TOTP attempts and, at their TOTP
// step, for password attempts from the browser that gave the password.
func (st *attemptRun) codeValidator(ctx workflow.Context, sub Submission) error {
	if err := st.validator(attempt.MethodPIN, attempt.MethodTOTP, attempt.MethodPassword)(ctx, sub); err != nil {
		return err
	}
	if st.begin.Method == attempt.MethodPassword {
		return st.stepValidator(store.StepTOTP)(ctx, sub)
	}
	return nil
}

// stepValidator takes a password attempt's submission at step, from the
// browser bound to it once the password was right.
func (st *attemptRun) stepValidator(step string) func(workflow.Context, Submission) error {
	return func(ctx workflow.Context, sub Submission) error {
		if err := st.validator(attempt.MethodPassword)(ctx, sub); err != nil {
			return err
		}
		if st.step != step {
			return ErrWrongStep
		}
		if step != store.StepPassword && (st.browser == "" || !secret.Equal(st.browser, sub.Browser)) {
			return ErrWrongStep
		}
		return nil
	}
}

func (st *attemptRun) submitCode(ctx workflow.Context, subject activities.Subject, sub Submission) (Verdict, error) {
	// One submission at a time, each seeing the failures of those before it:
	// otherwise a burst of concurrent guesses would all be checked before
	// the first failure is counted, and the lock-out would not bound them.
	// A PIN can only be checked once its digest is known.
	_ = workflow.Await(ctx, func() bool { return (st.issued && !st.checking) || st.state != StatePending })
	if st.state != StatePending {
		return st.closed(), nil
	}
	st.checking = true
	defer func() { st.checking = false }()
	if st.in.Shape >= ShapeLean || workflow.GetVersion(ctx, versionCodeCheck, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		return st.checkCode(ctx, subject, sub)
	}
	valid, reason := false, "wrong pin"
	if st.begin.Method == attempt.MethodTOTP {
		var res activities.VerifyTOTPResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, verifyOptions), acts.VerifyTOTP,
			activities.VerifyTOTPInput{Subject: subject, Digest: sub.Digest}).Get(ctx, &res)
		if err != nil {
			return Verdict{}, err
		}
		valid, reason = res.Valid, res.Reason
	} else {
		valid = secret.Equal(st.digest, sub.Digest)
	}
	if st.state != StatePending { // decided while the code was being checked
		return st.closed(), nil
	}
	if valid {
		st.state = StateAuthenticated
		st.signedInWith = attempt.MethodFactor(st.begin.Method)
		st.finish(ctx, subject, StateAuthenticated, "correct "+st.begin.Method)
		return Verdict{Verdict: VerdictAccepted, State: StateAuthenticated}, nil
	}
	return st.reject(ctx, subject, reason)
}

// checkCode has a PIN, TOTP or recovery code checked and counted by its
// factor. The attempt locks when no factor it takes is left open: a PIN
// attempt with its PIN locked, a TOTP attempt once TOTP and recovery codes
// are both locked (with TOTP locked, a recovery code still signs in).
func (st *attemptRun) checkCode(ctx workflow.Context, subject activities.Subject, sub Submission) (Verdict, error) {
	factor := st.submittedFactor(sub.Factor)
	reasons := []string{"correct " + factor}
	check := activities.CodeInput{
		Subject: subject, UserID: st.userID, Effect: "code:" + workflow.GetCurrentUpdateInfo(ctx).ID,
		Factor: factor, Expected: st.digest, Digest: sub.Digest, Alternates: sub.Alternates, MaxAttempts: st.max,
	}
	compact := st.in.Shape >= ShapeCompact
	if compact {
		// A right code publishes the success with its check: no Finish.
		check.OnValid = &activities.Conclusion{Reasons: reasons}
	}
	var res activities.CodeResult
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), acts.CheckCode, check).Get(ctx, &res)
	if err != nil {
		return Verdict{}, err
	}
	if res.Published {
		// The store holds the success, committed with the check. The
		// attempt may have expired here meanwhile, but that expiry's
		// Finish finds the attempt ended and changes nothing: the store's
		// outcome is the attempt's.
		st.state, st.signedInWith, st.finished, st.reasons = StateAuthenticated, factor, true, reasons
		return Verdict{Verdict: VerdictAccepted, State: StateAuthenticated}, nil
	}
	if st.state != StatePending { // decided while the code was being checked
		return st.closed(), nil
	}
	if res.Valid {
		st.state = StateAuthenticated
		st.signedInWith = factor
		if compact {
			// Not published: the attempt had ended in the store (a newer
			// start cancelled it), as a Finish would have found it.
			st.finished, st.reasons = true, reasons
		} else {
			st.finish(ctx, subject, StateAuthenticated, reasons...)
		}
		return Verdict{Verdict: VerdictAccepted, State: StateAuthenticated}, nil
	}
	st.failures = res.Failures
	if res.Locked {
		st.locked[factor] = true
	}
	if st.exhausted() {
		st.state = StateLocked
		st.finish(ctx, subject, StateLocked, "too many wrong codes: "+res.Reason)
		return Verdict{Verdict: VerdictClosed, State: StateLocked}, nil
	}
	return Verdict{Verdict: VerdictRejected, State: StatePending, Remaining: max(0, st.max-res.Failures)}, nil
}

// submittedFactor is the factor a submission is checked as: what the API
// read from the code's form, when the attempt's method takes it.
func (st *attemptRun) submittedFactor(claimed string) string {
	method := attempt.MethodFactor(st.begin.Method)
	if st.begin.Method == attempt.MethodPassword {
		// The password is behind it: the code is the second factor.
		method = attempt.MethodFactor(attempt.MethodTOTP)
	}
	if method == attempt.MethodFactor(attempt.MethodTOTP) && claimed == attempt.FactorRecovery {
		return claimed
	}
	return method
}

// exhausted reports whether every factor the attempt takes is locked.
func (st *attemptRun) exhausted() bool {
	switch st.begin.Method {
	case attempt.MethodPIN:
		return st.locked[attempt.MethodFactor(attempt.MethodPIN)]
	case attempt.MethodTOTP:
		return st.locked[attempt.MethodFactor(attempt.MethodTOTP)] && st.locked[attempt.FactorRecovery]
	case attempt.MethodPassword:
		if st.locked[store.FactorPassword] {
			return true
		}
		return st.step == store.StepTOTP &&
			st.locked[attempt.MethodFactor(attempt.MethodTOTP)] && st.locked[attempt.FactorRecovery]
	}
	return false
}

// turn waits until no other submission is being checked and takes the
// attempt for this one (the caller clears st.checking when done). It
// answers the verdict to give instead when the attempt ended meanwhile or,
// for a step other than "", moved past it.
func (st *attemptRun) turn(ctx workflow.Context, step string) (Verdict, bool) {
	_ = workflow.Await(ctx, func() bool { return !st.checking || st.state != StatePending })
	if st.state != StatePending {
		return st.closed(), false
	}
	if step != "" && st.step != step {
		return Verdict{Verdict: VerdictRejected, State: st.state, Step: st.step}, false
	}
	st.checking = true
	return Verdict{}, true
}

// submitPassword has the password sealed under this update's ID checked
// and counted. The right one moves the attempt to its second factor
// (a TOTP or recovery code, or enrolment) for the browser that sent it.
func (st *attemptRun) submitPassword(ctx workflow.Context, subject activities.Subject, sub Submission) (Verdict, error) {
	// Another submission may get the password right while this one waits.
	if v, ok := st.turn(ctx, store.StepPassword); !ok {
		return v, nil
	}
	defer func() { st.checking = false }()
	id := workflow.GetCurrentUpdateInfo(ctx).ID
	var res activities.PasswordResult
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), acts.CheckPassword, activities.PasswordInput{
		Subject: subject, UserID: st.userID, Effect: "password:" + id, SecretKey: attempt.PasswordSecretKey(id),
		Browser: sub.Browser, MaxAttempts: st.max,
	}).Get(ctx, &res)
	if err != nil {
		return Verdict{}, err
	}
	if st.state != StatePending {
		return st.closed(), nil
	}
	if res.Valid {
		st.step, st.browser = res.Step, sub.Browser
		st.failures = 0
		return Verdict{Verdict: VerdictAccepted, State: StatePending, Step: st.step}, nil
	}
	st.failures = res.Failures
	if res.Locked {
		st.locked[store.FactorPassword] = true
	}
	if st.exhausted() {
		st.state = StateLocked
		st.finish(ctx, subject, StateLocked, "too many wrong passwords: "+res.Reason)
		return Verdict{Verdict: VerdictClosed, State: StateLocked}, nil
	}
	return Verdict{Verdict: VerdictRejected, State: StatePending, Remaining: max(0, st.max-res.Failures), Step: st.step}, nil
}

// confirmEnrolment has the user's new authenticator confirmed by a code
// from it. Confirmed, the attempt is authenticated: the password and a
// code from the authenticator now bound to the user are both proved.
func (st *attemptRun) confirmEnrolment(ctx workflow.Context, subject activities.Subject, sub Submission) (Verdict, error) {
	if v, ok := st.turn(ctx, ""); !ok {
		return v, nil
	}
	defer func() { st.checking = false }()
	var res store.EnrolmentOutcome
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), acts.ConfirmEnrolment, activities.EnrolmentInput{
		Subject: subject, UserID: st.userID, Effect: "enrol:" + workflow.GetCurrentUpdateInfo(ctx).ID, Digest: sub.Digest,
	}).Get(ctx, &res)
	if err != nil {
		return Verdict{}, err
	}
	if st.state != StatePending {
		return st.closed(), nil
	}
	if res.Valid {
		st.state = StateAuthenticated
		st.signedInWith = store.FactorTOTP
		st.finish(ctx, subject, StateAuthenticated, "correct password and a new authenticator enrolled")
		return Verdict{Verdict: VerdictAccepted, State: StateAuthenticated}, nil
	}
	st.enrolFailures++
	if st.enrolFailures >= maxEnrolFailures {
		st.state = StateDenied
		st.finish(ctx, subject, StateDenied, "enrolment not confirmed: "+res.Reason)
		return Verdict{Verdict: VerdictClosed, State: StateDenied}, nil
	}
	return Verdict{Verdict: VerdictRejected, State: StatePending, Remaining: maxEnrolFailures - st.enrolFailures, Step: st.step}, nil
}

// recoverByEmail has a recover link checked: the user lost the
// authenticator, and a link sent to their verified address, opened in the
// browser that gave the password, stands in for it once. Valid, the
// user's second factor is reset and the attempt moves to enrolment: it
// authenticates only once a new authenticator is enrolled. An invalid link
// (used, expired, another attempt's) is no guess (the API found it by its
// digest) and counts nothing.
func (st *attemptRun) recoverByEmail(ctx workflow.Context, subject activities.Subject, sub Submission) (Verdict, error) {
	// A code or another link may move the attempt on while this one waits.
	if v, ok := st.turn(ctx, store.StepTOTP); !ok {
		return v, nil
	}
	defer func() { st.checking = false }()
	var res store.RecoveryOutcome
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), acts.RecoverByEmail, activities.RecoverInput{
		Subject: subject, UserID: st.userID, Effect: "recover:" + workflow.GetCurrentUpdateInfo(ctx).ID, LinkDigest: sub.Digest,
	}).Get(ctx, &res)
	if err != nil {
		return Verdict{}, err
	}
	if st.state != StatePending {
		return st.closed(), nil
	}
	if !res.Valid {
		return Verdict{Verdict: VerdictRejected, State: StatePending, Step: st.step}, nil
	}
	st.step = store.StepEnrol
	return Verdict{Verdict: VerdictAccepted, State: StatePending, Step: st.step}, nil
}

func (st *attemptRun) confirmLink(ctx workflow.Context, subject activities.Subject, sub Submission) (Verdict, error) {
	_ = workflow.Await(ctx, func() bool { return st.issued || st.state != StatePending })
	if st.state != StatePending {
		return st.closed(), nil
	}
	if !secret.Equal(st.digest, sub.Digest) {
		// The link was found by this digest, so a mismatch means the link
		// belongs to an older attempt; it is not a guess worth counting.
		return Verdict{Verdict: VerdictRejected, State: st.state}, nil
	}
	st.state = StateAuthenticated
	st.finish(ctx, subject, StateAuthenticated, "link confirmed")
	return Verdict{Verdict: VerdictAccepted, State: StateAuthenticated}, nil
}

// authorizeSSO has a sign-on request drawn for the holder of the attempt's
// link. Each request replaces the one before, so only the latest state can
// come back.
func (st *attemptRun) authorizeSSO(ctx workflow.Context, subject activities.Subject, sub Submission) (Verdict, error) {
	_ = workflow.Await(ctx, func() bool { return (st.issued && !st.checking) || st.state != StatePending })
	if st.state != StatePending {
		return st.closed(), nil
	}
	if !secret.Equal(st.digest, sub.Digest) && (st.in.PageDigest == "" || !secret.Equal(st.in.PageDigest, sub.Digest)) {
		// Neither the emailed link nor the page start answered.
		return Verdict{Verdict: VerdictRejected, State: st.state}, nil
	}
	st.checking = true
	defer func() { st.checking = false }()
	var res activities.AuthorizeSSOResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, verifyOptions), acts.AuthorizeSSO,
		activities.SSOInput{Subject: subject, UserID: st.userID}).Get(ctx, &res)
	if err != nil {
		return Verdict{}, err
	}
	if st.state != StatePending {
		return st.closed(), nil
	}
	st.ssoState = res.StateDigest
	return Verdict{Verdict: VerdictAccepted, State: StatePending}, nil
}

// confirmSSO completes the attempt from the provider's callback: the code
// is redeemed and the identity checked by the activity. A failed
// verification counts as a failure like a wrong code; a genuine identity
// refused (res.Refused) is no guess and ends the attempt uncounted.
func (st *attemptRun) confirmSSO(ctx workflow.Context, subject activities.Subject, sub Submission) (Verdict, error) {
	_ = workflow.Await(ctx, func() bool { return !st.checking || st.state != StatePending })
	if st.state != StatePending {
		return st.closed(), nil
	}
	if st.ssoState == "" || !secret.Equal(st.ssoState, sub.Digest) {
		// An older request's state: replaced, not a guess.
		return Verdict{Verdict: VerdictRejected, State: st.state}, nil
	}
	st.ssoState = "" // one callback per request
	st.checking = true
	defer func() { st.checking = false }()
	var res activities.SignOnResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, verifyOptions), acts.ExchangeSSO,
		activities.SSOInput{Subject: subject, UserID: st.userID}).Get(ctx, &res)
	if err != nil {
		return Verdict{}, err
	}
	if st.state != StatePending {
		return st.closed(), nil
	}
	if res.Valid {
		st.state = StateAuthenticated
		st.signedInWith = attempt.MethodFactor(attempt.MethodSSO)
		st.finish(ctx, subject, StateAuthenticated, res.Reason)
		return Verdict{Verdict: VerdictAccepted, State: StateAuthenticated}, nil
	}
	if res.Refused {
		st.state = StateDenied
		st.finish(ctx, subject, StateDenied, res.Reason)
		return Verdict{Verdict: VerdictClosed, State: StateDenied}, nil
	}
	return st.reject(ctx, subject, res.Reason)
}

// reject counts a wrong code against the user and locks the attempt once the
// policy's max_attempts is reached.
func (st *attemptRun) reject(ctx workflow.Context, subject activities.Subject, reason string) (Verdict, error) {
	var n int
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), acts.RecordFailure,
		activities.FailureInput{
			Subject: subject, UserID: st.userID, Reason: reason, MaxAttempts: st.max,
			Factor: attempt.MethodFactor(st.begin.Method), Effect: "failure:" + workflow.GetCurrentUpdateInfo(ctx).ID,
		}).Get(ctx, &n)
	if err != nil {
		return Verdict{}, err
	}
	st.failures = max(st.failures+1, n)
	if st.state != StatePending {
		return st.closed(), nil
	}
	if st.failures >= st.max {
		st.state = StateLocked
		st.finish(ctx, subject, StateLocked, "too many wrong codes")
		return Verdict{Verdict: VerdictClosed, State: StateLocked}, nil
	}
	return Verdict{Verdict: VerdictRejected, State: StatePending, Remaining: st.max - st.failures}, nil
}

func (st *attemptRun) closed() Verdict {
	return Verdict{Verdict: VerdictClosed, State: st.state}
}

// finish publishes the final state once. It cannot fail the workflow: if the
// store stays unreachable through every retry, the state still stands in
// the workflow's result and its query.
func (st *attemptRun) finish(ctx workflow.Context, subject activities.Subject, state string, reasons ...string) {
	if st.finished {
		return
	}
	st.finished = true
	st.reasons = reasons
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), acts.Finish,
		activities.FinishInput{Subject: subject, UserID: st.userID, State: state, Reasons: reasons, Factor: st.signedInWith}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("publish final state failed", "state", state, "error", err)
	}
}

// result waits for in-flight update handlers so none is cut off mid-way.
func (st *attemptRun) result(ctx workflow.Context) AttemptResult {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return AttemptResult{State: st.state, Method: st.begin.Method, Reasons: st.reasons}
}

func errorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	return err.Error()
}
