package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
)

// BeginInput opens an attempt.
type BeginInput struct {
	Subject
	WorkflowID string
	RunID      string
	UserAgent  string
	StartedAt  time.Time
	// PageDigest is the digest of the hosted page token the API drew for
	// the start: a password or sso attempt is found by it from the URL
	// start answers.
	PageDigest string
}

// BeginResult is the policy's verdict on the attempt and what the workflow
// needs to run it.
type BeginResult struct {
	Allowed bool
	UserID  string
	Method  string
	Channel string // "" lets IssueChallenge choose from the contact data
	TTL     time.Duration
	// MaxAttempts is the policy's limit: a factor locks after this many
	// consecutive wrong codes.
	MaxAttempts int
	// RecentFailures is the run of wrong codes with the method's factor so
	// far; LockedFactors names the user's factors locked at the start.
	RecentFailures int
	LockedFactors  []string
	Reasons        []string
}

// effectBegin keys Begin's effect: an attempt begins once.
const effectBegin = "begin"

// Begin records the attempt, supersedes the subject's pending attempts,
// resolves the user, system and assignment, and asks the policy. Anything
// that makes the attempt impossible (unknown user or system, no assignment,
// a disabled user, a locked factor, a policy error or denial) is a denial
// with its real reason in the audit trail, never an error the caller could
// tell apart.
//
// Begin runs once per attempt: run again (a retried or replayed local
// activity), it answers what it answered the first time and changes
// nothing.
func (a *Activities) Begin(ctx context.Context, in BeginInput) (BeginResult, error) {
	now := a.now().UTC()
	row := store.Attempt{
		ID: in.AttemptID, AccountID: in.AccountID, System: in.System, AuthID: in.AuthID,
		WorkflowID: in.WorkflowID, RunID: in.RunID, State: store.AttemptPending,
		IP: in.IP, UserAgent: in.UserAgent, StartedAt: in.StartedAt.UTC(), UpdatedAt: now,
	}
	started := []store.AuditEvent{in.event(now, attempt.EventStarted)}
	// res is the answer: this run's, or the first run's when the attempt
	// was begun already (its effect).
	var res BeginResult
	if a.cfg.Directory == "" {
		// Nothing to ask outside the database: the whole begin (record the
		// attempt, supersede the subject's others, read what the policy
		// needs, publish its verdict) is one transaction.
		_, err := a.store.BeginAttempt(ctx, &row, effectBegin, &res, now, started,
			func(ctx context.Context, tx *store.Store, o store.Opening) (store.Publication, error) {
				var p store.Publication
				var err error
				res, p, err = a.verdict(ctx, tx, in, now, o.Superseded)
				return p, err
			})
		if err != nil {
			return BeginResult{}, err
		}
		return res, nil
	}
	// The directory is a plugin call, which no transaction waits for: one
	// records the attempt and supersedes the others, another publishes
	// the verdict.
	opened, err := a.store.OpenAttempt(ctx, &row, effectBegin, &res, now, started...)
	if err != nil || opened.Done {
		return res, err
	}
	res, p, err := a.verdict(ctx, a.store, in, now, opened.Superseded)
	if err != nil {
		return BeginResult{}, err
	}
	if _, err := a.store.PublishAttempt(ctx, in.AttemptID, p.Update, p.Events...); err != nil {
		return BeginResult{}, err
	}
	return res, nil
}

// beginStore is what a begin's verdict reads.
type beginStore interface {
	admission.InputStore
	admission.LimitStore
	ancestry
	policies.ActiveVersions
}

// versionedPolicy is a policy that reads each account's active version
// from the store (policies.Registry). A begin's verdict runs within its
// transaction and has it read through the transaction: a read on another
// connection of the pool could wait for the one the transaction holds.
type versionedPolicy interface {
	DecideWith(ctx context.Context, versions policies.ActiveVersions, in policies.Input) (policies.Decision, error)
}

// decideWith asks p, reading its versions from versions when it reads any.
func decideWith(ctx context.Context, p Policy, versions policies.ActiveVersions, in policies.Input) (policies.Decision, error) {
	if v, ok := p.(versionedPolicy); ok {
		return v.DecideWith(ctx, versions, in)
	}
	return p.Decide(ctx, in)
}

// verdict decides an opened attempt: the answer, and the transition and
// audit events to publish. Anything that makes the attempt impossible is a
// denial with its reason (see Begin); an error is an outage.
func (a *Activities) verdict(ctx context.Context, st beginStore, in BeginInput, now time.Time, superseded bool) (BeginResult, store.Publication, error) {
	if superseded {
		// A newer start of the subject began first; this attempt is
		// cancelled already (and audited), and refuses.
		return denial(in.Subject, now, nil, "superseded by a newer attempt")
	}
	// Limits come before the subject is resolved, so that unknown users are
	// limited exactly like known ones.
	reason, err := a.cfg.Limits.Exceeded(ctx, st, admission.StartRequest{
		AccountID: in.AccountID, System: in.System, AuthID: in.AuthID, IP: in.IP, At: now, Recorded: true,
	})
	if err != nil {
		return BeginResult{}, store.Publication{}, err
	}
	if reason != "" {
		return denial(in.Subject, now, nil, reason)
	}

	res, input, reason, err := a.resolve(ctx, st, in, now)
	if err != nil {
		return BeginResult{}, store.Publication{}, err
	}
	if reason != "" {
		return denial(in.Subject, now, nil, reason)
	}

	dec, err := decideWith(ctx, a.policy, st, input)
	// The decision is recorded whatever it is: a policy error is a denial
	// whose reasons say what broke.
	decided := in.event(now, attempt.EventDecision, dec.Reasons...)
	decided.Detail = map[string]any{
		"allow": dec.Allow, "method": dec.Method, "ttl_seconds": dec.TTLSeconds,
		"max_attempts": dec.MaxAttempts, "risk": dec.Risk, "channel": dec.Channel,
	}
	if err != nil {
		decided.Detail["error"] = err.Error()
	}
	if err != nil || !dec.Allow {
		return denial(in.Subject, now, []store.AuditEvent{decided}, dec.Reasons...)
	}
	if dec.Method == attempt.MethodSSO {
		_, ok, err := a.signOnOf(ctx, st, in.AccountID)
		if err != nil {
			return BeginResult{}, store.Publication{}, err
		}
		if !ok {
			// Refused now rather than after a link nobody could complete.
			return denial(in.Subject, now, []store.AuditEvent{decided}, "no sign-on plugin configured for method sso")
		}
	}
	if reason := passwordRefusal(dec.Method, input.Subject); reason != "" {
		// The engine's own rule, like the lock below: no policy can let a
		// user sign in by a password the account or the user has not
		// allowed, or that does not exist.
		return denial(in.Subject, now, []store.AuditEvent{decided}, reason)
	}
	if locked := lockedOut(dec.Method, input.Subject.TOTPEnrolled, input.History.LockedFactors); locked != "" {
		// The engine's own lock, whatever the policy chose: a policy that
		// ignores locked factors cannot reopen them.
		return denial(in.Subject, now, []store.AuditEvent{decided}, locked)
	}

	res.Allowed = true
	res.Method = dec.Method
	res.Channel = dec.Channel
	res.TTL = time.Duration(dec.TTLSeconds) * time.Second
	res.MaxAttempts = dec.MaxAttempts
	res.Reasons = dec.Reasons
	res.RecentFailures = input.History.Factors[attempt.MethodFactor(dec.Method)].Failures
	res.LockedFactors = input.History.LockedFactors
	expires := in.StartedAt.UTC().Add(res.TTL)
	update := store.AttemptUpdate{
		Method: dec.Method, ExpiresAt: &expires, At: now,
		Effect: &store.EffectRecord{Key: effectBegin, Result: res},
	}
	if attempt.Hosted(dec.Method) {
		update.PageDigest = in.PageDigest
	}
	if dec.Method == attempt.MethodPassword {
		update.Step = store.StepPassword
	}
	return res, store.Publication{Update: update, Events: []store.AuditEvent{decided}}, nil
}

// passwordRefusal says why a password attempt cannot go ahead ("" when it
// can, or for another method).
func passwordRefusal(method string, s policies.Subject) string {
	switch {
	case method != attempt.MethodPassword:
		return ""
	case !s.PasswordLogin:
		return "email and password sign-in is off for the user"
	case !s.HasPassword:
		return "no password set"
	}
	return ""
}

// lockedOut says why method cannot be used with these factors locked, or "".
// A TOTP attempt is refused only when recovery codes are locked too: with
// TOTP locked, a recovery code still signs in.
func lockedOut(method string, enrolled bool, locked []string) string {
	has := func(f string) bool { return slices.Contains(locked, f) }
	switch {
	case method == attempt.MethodPassword && has(store.FactorPassword):
		return "password is locked after too many wrong passwords"
	case method == attempt.MethodPassword && enrolled && has(store.FactorTOTP) && has(store.FactorRecovery):
		return "totp and recovery codes are locked after too many wrong codes"
	case method == attempt.MethodPIN && has(store.FactorPIN):
		return "pin is locked after too many wrong codes"
	case method == attempt.MethodSSO && has(store.FactorSSO):
		return "single sign-on is locked after too many refusals"
	case method == attempt.MethodTOTP && has(store.FactorTOTP) && has(store.FactorRecovery):
		return "totp and recovery codes are locked after too many wrong codes"
	}
	return ""
}

// resolve loads what the policy needs: the sign-in as admission.ResolveInput builds
// it, completed from the directory. A non-empty reason means the attempt
// cannot go ahead.
func (a *Activities) resolve(ctx context.Context, st admission.InputStore, in BeginInput, now time.Time) (BeginResult, policies.Input, string, error) {
	r, err := admission.ResolveInput(ctx, st, admission.InputRequest{
		AccountID: in.AccountID, System: in.System, AuthID: in.AuthID,
		IP: in.IP, UserAgent: in.UserAgent, Time: in.StartedAt, LocksAt: now,
	})
	if err != nil || r.Refusal != "" {
		return BeginResult{}, policies.Input{}, r.Refusal, err
	}
	person, reason, err := a.lookup(ctx, in.AccountID, in.AuthID)
	if err != nil || reason != "" {
		return BeginResult{}, policies.Input{}, reason, err
	}
	user := withContacts(r.User, person)
	input := r.Input
	input.Subject.HasEmail, input.Subject.HasPhone = user.Email != "", user.Phone != ""
	input.Subject.InDirectory, input.Subject.Groups, input.Subject.Attributes = person.Found, person.Groups, person.Attributes
	return BeginResult{UserID: user.ID}, input, "", nil
}

// lookup asks the directory about the user, when one is configured. A
// permanent directory failure denies (with the reason); a temporary one is
// an error, so the activity is retried.
func (a *Activities) lookup(ctx context.Context, accountID, authid string) (sdk.Identity, string, error) {
	person := sdk.Identity{Groups: []string{}, Attributes: map[string]string{}}
	if a.cfg.Directory == "" {
		return person, "", nil
	}
	found, err := a.plugins.Lookup(ctx, a.cfg.Directory, sdk.LookupRequest{Account: accountID, AuthID: authid})
	if errors.Is(err, sdk.ErrPermanent) {
		return person, "directory " + a.cfg.Directory + " failed: " + err.Error(), nil
	}
	if err != nil {
		return person, "", fmt.Errorf("look up %q in directory %s: %w", authid, a.cfg.Directory, err)
	}
	if found.Groups == nil {
		found.Groups = []string{}
	}
	if found.Attributes == nil {
		found.Attributes = map[string]string{}
	}
	return found, "", nil
}

// withContacts fills the contact data flexauth lacks from the directory;
// what an administrator set in flexauth wins.
func withContacts(u store.User, person sdk.Identity) store.User {
	if u.Email == "" {
		u.Email = person.Email
	}
	if u.Phone == "" {
		u.Phone = person.Phone
	}
	return u
}

// denial ends the attempt as denied, with events (the policy's decision)
// and the denial, and remembers the answer as Begin's effect.
func denial(s Subject, now time.Time, events []store.AuditEvent, reasons ...string) (BeginResult, store.Publication, error) {
	if len(reasons) == 0 {
		reasons = []string{"denied by policy"}
	}
	res := BeginResult{Allowed: false, Reasons: reasons}
	return res, store.Publication{
		Update: store.AttemptUpdate{State: store.AttemptDenied, At: now, Effect: &store.EffectRecord{Key: effectBegin, Result: res}},
		Events: append(events, s.event(now, attempt.EventDenied, reasons...)),
	}, nil
}
