package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
}

// BeginResult is the policy's verdict on the attempt and what the workflow
// needs to run it.
type BeginResult struct {
	Allowed        bool
	UserID         string
	Method         string
	Channel        string // "" lets IssueChallenge choose from the contact data
	TTL            time.Duration
	MaxAttempts    int
	RecentFailures int
	Reasons        []string
}

// Begin records the attempt, supersedes the subject's pending attempts,
// resolves the user, system and assignment, and asks the policy. Anything
// that makes the attempt impossible (unknown user or system, no assignment,
// a disabled user, a policy error or denial) is a denial with its real
// reason in the audit trail, never an error the caller could tell apart.
func (a *Activities) Begin(ctx context.Context, in BeginInput) (BeginResult, error) {
	now := a.now().UTC()
	row := store.Attempt{
		ID: in.AttemptID, AccountID: in.AccountID, System: in.System, AuthID: in.AuthID,
		WorkflowID: in.WorkflowID, RunID: in.RunID, State: store.AttemptPending,
		IP: in.IP, UserAgent: in.UserAgent, StartedAt: in.StartedAt.UTC(), UpdatedAt: now,
	}
	if err := a.store.InsertAttempt(ctx, &row); err != nil {
		return BeginResult{}, err
	}
	if err := a.store.AppendAudit(ctx, in.event(now, EventStarted)); err != nil {
		return BeginResult{}, err
	}
	if _, err := a.store.CancelOtherAttempts(ctx, row, now); err != nil {
		return BeginResult{}, err
	}
	// Limits come before the subject is resolved, so that unknown users are
	// limited exactly like known ones.
	if reason, err := a.rateLimited(ctx, in, now); err != nil || reason != "" {
		if err != nil {
			return BeginResult{}, err
		}
		return a.deny(ctx, in.Subject, now, reason)
	}

	res, input, reason, err := a.resolve(ctx, in, now)
	if err != nil {
		return BeginResult{}, err
	}
	if reason != "" {
		return a.deny(ctx, in.Subject, now, reason)
	}

	dec, err := a.policy.Decide(ctx, input)
	// The decision is recorded whatever it is: a policy error is a denial
	// whose reasons say what broke.
	decided := in.event(now, EventDecision, dec.Reasons...)
	decided.Detail = map[string]any{
		"allow": dec.Allow, "method": dec.Method, "ttl_seconds": dec.TTLSeconds,
		"max_attempts": dec.MaxAttempts, "risk": dec.Risk, "channel": dec.Channel,
	}
	if err != nil {
		decided.Detail["error"] = err.Error()
	}
	if err := a.store.AppendAudit(ctx, decided); err != nil {
		return BeginResult{}, err
	}
	if err != nil || !dec.Allow {
		return a.deny(ctx, in.Subject, now, dec.Reasons...)
	}
	if _, ok := a.cfg.signOn(in.AccountID); dec.Method == policies.MethodSSO && !ok {
		// Refused now rather than after a link nobody could complete.
		return a.deny(ctx, in.Subject, now, "no sign-on plugin configured for method sso")
	}

	res.Allowed = true
	res.Method = dec.Method
	res.Channel = dec.Channel
	res.TTL = time.Duration(dec.TTLSeconds) * time.Second
	res.MaxAttempts = dec.MaxAttempts
	res.Reasons = dec.Reasons
	expires := in.StartedAt.UTC().Add(res.TTL)
	_, err = a.store.PublishAttempt(ctx, in.AttemptID, store.AttemptUpdate{Method: dec.Method, ExpiresAt: &expires, At: now})
	if err != nil {
		return BeginResult{}, err
	}
	return res, nil
}

// rateLimited says why the start exceeds a limit, or "". The attempt being
// begun is counted too.
func (a *Activities) rateLimited(ctx context.Context, in BeginInput, now time.Time) (string, error) {
	if a.cfg.UserStarts > 0 {
		n, err := a.store.CountAttempts(ctx, in.AccountID, in.AuthID, now.Add(-a.cfg.StartWindow))
		if err != nil {
			return "", err
		}
		if n > a.cfg.UserStarts {
			return fmt.Sprintf("rate limited: %d starts for this user in %s (limit %d)", n, a.cfg.StartWindow, a.cfg.UserStarts), nil
		}
	}
	if a.cfg.AccountStarts > 0 {
		n, err := a.store.CountAttempts(ctx, in.AccountID, "", now.Add(-time.Minute))
		if err != nil {
			return "", err
		}
		if n > a.cfg.AccountStarts {
			return fmt.Sprintf("rate limited: %d starts for the account in the last minute (limit %d)", n, a.cfg.AccountStarts), nil
		}
	}
	return "", nil
}

// resolve loads what the policy needs: the sign-in as ResolveInput builds
// it, completed from the directory. A non-empty reason means the attempt
// cannot go ahead.
func (a *Activities) resolve(ctx context.Context, in BeginInput, now time.Time) (BeginResult, policies.Input, string, error) {
	r, err := ResolveInput(ctx, a.store, InputRequest{
		AccountID: in.AccountID, System: in.System, AuthID: in.AuthID,
		IP: in.IP, UserAgent: in.UserAgent, Time: in.StartedAt, FailuresAt: now,
		LockoutWindow: a.cfg.LockoutWindow,
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
	return BeginResult{UserID: user.ID, RecentFailures: input.History.RecentFailures}, input, "", nil
}

// DefaultLockoutWindow is how long failed codes count towards a lock-out
// when Config.LockoutWindow is not set.
const DefaultLockoutWindow = 15 * time.Minute

// InputStore is what ResolveInput reads.
type InputStore interface {
	GetAccount(ctx context.Context, id string) (store.Account, error)
	GetSystem(ctx context.Context, accountID, name string) (store.System, error)
	GetUser(ctx context.Context, accountID, authid string) (store.User, error)
	GetAssignment(ctx context.Context, userID, systemID string) (store.Assignment, error)
	KnownIP(ctx context.Context, userID, ip string) (bool, error)
}

// InputRequest is the sign-in a policy input is built for.
type InputRequest struct {
	AccountID, System, AuthID string
	IP, UserAgent             string // IP "" is never a new IP
	Time                      time.Time
	// FailuresAt is the moment recent failures are counted at (zero: Time),
	// over LockoutWindow (zero: DefaultLockoutWindow).
	FailuresAt    time.Time
	LockoutWindow time.Duration
}

// Resolved is a sign-in resolved for the policy.
type Resolved struct {
	Input policies.Input
	User  store.User
	// Refusal says why the sign-in cannot reach the policy ("" when it
	// can): the system or the user is unknown, or the user is not active or
	// not assigned to the system. Unknown is "system" or "user" when that
	// is why.
	Refusal string
	Unknown string
}

// ResolveInput loads the system, the user, their assignment and history,
// and builds the policy input exactly as Begin does, except for the
// directory, which only the worker reaches: Subject.InDirectory is false,
// Groups and Attributes are empty and the contact data is flexauth's own.
// Begin completes the input from its directory plugin; the admin API's
// "what would the policy decide" uses it as it is.
func ResolveInput(ctx context.Context, st InputStore, req InputRequest) (Resolved, error) {
	sys, err := st.GetSystem(ctx, req.AccountID, req.System)
	if errors.Is(err, store.ErrNotFound) {
		return Resolved{Refusal: "unknown system", Unknown: "system"}, nil
	}
	if err != nil {
		return Resolved{}, err
	}
	user, err := st.GetUser(ctx, req.AccountID, req.AuthID)
	if errors.Is(err, store.ErrNotFound) {
		return Resolved{Refusal: "unknown user", Unknown: "user"}, nil
	}
	if err != nil {
		return Resolved{}, err
	}
	if user.Status != store.UserActive {
		return Resolved{User: user, Refusal: "user is " + user.Status}, nil
	}
	asg, err := st.GetAssignment(ctx, user.ID, sys.ID)
	if errors.Is(err, store.ErrNotFound) {
		return Resolved{User: user, Refusal: "user is not assigned to the system"}, nil
	}
	if err != nil {
		return Resolved{}, err
	}
	newIP := false
	if req.IP != "" {
		known, err := st.KnownIP(ctx, user.ID, req.IP)
		if err != nil {
			return Resolved{}, err
		}
		newIP = !known
	}
	at, window := req.FailuresAt, req.LockoutWindow
	if at.IsZero() {
		at = req.Time
	}
	if window <= 0 {
		window = DefaultLockoutWindow
	}
	failures := user.RecentFailures(at, window)
	// The account's settings are read last, for a sign-in that reaches the
	// policy: whether email may carry its link or code.
	acc, err := st.GetAccount(ctx, req.AccountID)
	if err != nil {
		return Resolved{}, fmt.Errorf("load account %q: %w", req.AccountID, err)
	}
	input := policies.Input{
		Account: policies.Account{ID: acc.ID, EmailLogin: &acc.EmailLogin},
		Subject: policies.Subject{
			Account: req.AccountID, AuthID: req.AuthID, Assigned: asg.Method,
			TOTPEnrolled: user.TOTPEnabled, HasEmail: user.Email != "", HasPhone: user.Phone != "",
			Groups: []string{}, Attributes: map[string]string{},
		},
		System: policies.System{
			Name: sys.Name, Methods: slices.Clone(sys.Methods), Sensitivity: sys.Sensitivity, TTLSeconds: sys.TTLSeconds,
		},
		Request: policies.Request{IP: req.IP, UserAgent: req.UserAgent, Time: req.Time.UTC()},
		History: policies.History{
			RecentFailures: failures, LastIP: user.LastIP, LastLoginAt: user.LastLoginAt,
			LoginCount: user.LoginCount, NewIP: newIP,
		},
	}
	return Resolved{Input: input, User: user}, nil
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

func (a *Activities) deny(ctx context.Context, s Subject, now time.Time, reasons ...string) (BeginResult, error) {
	if len(reasons) == 0 {
		reasons = []string{"denied by policy"}
	}
	_, err := a.store.PublishAttempt(ctx, s.AttemptID, store.AttemptUpdate{State: store.AttemptDenied, At: now},
		s.event(now, EventDenied, reasons...))
	if err != nil {
		return BeginResult{}, fmt.Errorf("deny attempt: %w", err)
	}
	return BeginResult{Allowed: false, Reasons: reasons}, nil
}
