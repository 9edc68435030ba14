package admission

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
)

// InputStore is what ResolveInput reads.
type InputStore interface {
	GetAccount(ctx context.Context, id string) (store.Account, error)
	GetSystem(ctx context.Context, accountID, name string) (store.System, error)
	GetSignInUser(ctx context.Context, accountID, authid, systemID, ip string) (store.SignInUser, error)
	FactorLocks(ctx context.Context, userID string) ([]store.FactorLock, error)
}

var _ InputStore = (*store.Store)(nil)

// InputRequest is the sign-in a policy input is built for.
type InputRequest struct {
	AccountID, System, AuthID string
	IP, UserAgent             string // IP "" is never a new IP
	Time                      time.Time
	// LocksAt is the moment factor locks are judged at (zero: Time).
	LocksAt time.Time
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
// and has policies.BuildInput build the policy input exactly as Begin
// does, except for the directory, which only the worker reaches:
// Subject.InDirectory is false, Groups and Attributes are empty and the
// contact data is flexauth's own. Begin (package activities) completes
// the input from its directory plugin; the admin API's "what would the
// policy decide" uses it as it is.
func ResolveInput(ctx context.Context, st InputStore, req InputRequest) (Resolved, error) {
	sys, err := systemOf(ctx, st, req.AccountID, req.System)
	if errors.Is(err, store.ErrNotFound) {
		return Resolved{Refusal: "unknown system", Unknown: "system"}, nil
	}
	if err != nil {
		return Resolved{}, err
	}
	// The user, their assignment and whether the address is theirs come
	// in one query.
	signIn, err := st.GetSignInUser(ctx, req.AccountID, req.AuthID, sys.ID, req.IP)
	if errors.Is(err, store.ErrNotFound) {
		return Resolved{Refusal: "unknown user", Unknown: "user"}, nil
	}
	if err != nil {
		return Resolved{}, err
	}
	user := signIn.User
	if user.Status != store.UserActive {
		return Resolved{User: user, Refusal: "user is " + user.Status}, nil
	}
	asg := assignmentOf(signIn, sys)
	if asg.Method == "" {
		return Resolved{User: user, Refusal: "user is not assigned to the system"}, nil
	}
	at := req.LocksAt
	if at.IsZero() {
		at = req.Time
	}
	locks, err := st.FactorLocks(ctx, user.ID)
	if err != nil {
		return Resolved{}, err
	}
	factors := make([]policies.FactorState, len(locks))
	for i, l := range locks {
		factors[i] = policies.FactorState{Factor: l.Factor, Failures: l.Failures, Locked: l.Locked(at)}
	}
	// The account's settings are read last, for a sign-in that reaches the
	// policy: whether email may carry its link or code.
	acc, err := st.GetAccount(ctx, req.AccountID)
	if err != nil {
		return Resolved{}, fmt.Errorf("load account %q: %w", req.AccountID, err)
	}
	input := policies.BuildInput(policies.SignIn{
		AccountID: acc.ID, EmailDelivery: acc.EmailDelivery, EmailPasswordLogin: acc.EmailPasswordLogin,
		AuthID: req.AuthID, Assigned: asg.Method,
		User: policies.SignInUser{
			TOTPEnrolled: user.TOTPEnabled, HasEmail: user.Email != "", HasPhone: user.Phone != "",
			PasswordLogin: user.EmailPasswordLogin, HasPassword: user.PasswordHash != "",
			LastIP: user.LastIP, LastLoginAt: user.LastLoginAt, LoginCount: user.LoginCount,
		},
		System:  policies.System{Name: sys.Name, Methods: sys.Methods, Sensitivity: sys.Sensitivity, TTLSeconds: sys.TTLSeconds},
		Request: policies.Request{IP: req.IP, UserAgent: req.UserAgent, Time: req.Time},
		NewIP:   req.IP != "" && !signIn.KnownIP,
		Factors: factors,
	})
	return Resolved{Input: input, User: user}, nil
}

// SecuritySettings is the system attempt.SecuritySystem resolves to:
// password sign-in, high sensitivity, ten minutes.
func SecuritySettings() store.System {
	return store.System{
		Name: attempt.SecuritySystem, Methods: []string{attempt.MethodPassword},
		Sensitivity: "high", TTLSeconds: 600,
	}
}

// systemOf loads an account's system, or SecuritySettings for the
// reserved name.
func systemOf(ctx context.Context, st InputStore, accountID, name string) (store.System, error) {
	if name == attempt.SecuritySystem {
		return SecuritySettings(), nil
	}
	return st.GetSystem(ctx, accountID, name)
}

// assignmentOf is the user's assignment to sys (Method "" when there is
// none); every user is assigned SecuritySettings with method password (the
// engine's own rules then refuse users without email and password
// sign-in).
func assignmentOf(user store.SignInUser, sys store.System) store.Assignment {
	if sys.Name == attempt.SecuritySystem && sys.ID == "" {
		return store.Assignment{UserID: user.ID, Method: attempt.MethodPassword}
	}
	return store.Assignment{UserID: user.ID, SystemID: sys.ID, Method: user.Assigned}
}
