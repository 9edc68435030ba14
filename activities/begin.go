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

// resolve loads what the policy needs. A non-empty reason means the attempt
// cannot go ahead.
func (a *Activities) resolve(ctx context.Context, in BeginInput, now time.Time) (BeginResult, policies.Input, string, error) {
	sys, err := a.store.GetSystem(ctx, in.AccountID, in.System)
	if errors.Is(err, store.ErrNotFound) {
		return BeginResult{}, policies.Input{}, "unknown system", nil
	}
	if err != nil {
		return BeginResult{}, policies.Input{}, "", err
	}
	user, err := a.store.GetUser(ctx, in.AccountID, in.AuthID)
	if errors.Is(err, store.ErrNotFound) {
		return BeginResult{}, policies.Input{}, "unknown user", nil
	}
	if err != nil {
		return BeginResult{}, policies.Input{}, "", err
	}
	if user.Status != store.UserActive {
		return BeginResult{}, policies.Input{}, "user is " + user.Status, nil
	}
	asg, err := a.store.GetAssignment(ctx, user.ID, sys.ID)
	if errors.Is(err, store.ErrNotFound) {
		return BeginResult{}, policies.Input{}, "user is not assigned to the system", nil
	}
	if err != nil {
		return BeginResult{}, policies.Input{}, "", err
	}
	newIP := false
	if in.IP != "" {
		known, err := a.store.KnownIP(ctx, user.ID, in.IP)
		if err != nil {
			return BeginResult{}, policies.Input{}, "", err
		}
		newIP = !known
	}
	failures := user.RecentFailures(now, a.cfg.LockoutWindow)
	person, reason, err := a.lookup(ctx, in.AccountID, in.AuthID)
	if err != nil || reason != "" {
		return BeginResult{}, policies.Input{}, reason, err
	}
	user = withContacts(user, person)
	input := policies.Input{
		Subject: policies.Subject{
			Account: in.AccountID, AuthID: in.AuthID, Assigned: asg.Method,
			TOTPEnrolled: user.TOTPEnabled, HasEmail: user.Email != "", HasPhone: user.Phone != "",
			InDirectory: person.Found, Groups: person.Groups, Attributes: person.Attributes,
		},
		System: policies.System{
			Name: sys.Name, Methods: slices.Clone(sys.Methods), Sensitivity: sys.Sensitivity, TTLSeconds: sys.TTLSeconds,
		},
		Request: policies.Request{IP: in.IP, UserAgent: in.UserAgent, Time: in.StartedAt.UTC()},
		History: policies.History{
			RecentFailures: failures, LastIP: user.LastIP, LastLoginAt: user.LastLoginAt,
			LoginCount: user.LoginCount, NewIP: newIP,
		},
	}
	return BeginResult{UserID: user.ID, RecentFailures: failures}, input, "", nil
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
