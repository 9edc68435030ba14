package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// AccountStore is what setting up an account writes.
type AccountStore interface {
	CreateAccount(ctx context.Context, a *store.Account) error
	CreateAPIKey(ctx context.Context, k *store.APIKey, events ...store.AuditEvent) error
	GetSystem(ctx context.Context, accountID, name string) (store.System, error)
	CreateSystem(ctx context.Context, sys *store.System, events ...store.AuditEvent) error
	GetUser(ctx context.Context, accountID, authid string) (store.User, error)
	CreateUser(ctx context.Context, u *store.User, events ...store.AuditEvent) error
	SetAssignments(ctx context.Context, userID string, as []store.Assignment, events ...store.AuditEvent) error
}

var _ AccountStore = (*store.Store)(nil)

// ErrAccountExists refuses to create an account whose ID is taken.
var ErrAccountExists = errors.New("account exists already")

// Accounts sets accounts up outside the admin API, which needs an account
// and a key to begin with: `flexauth account create` for a production
// deployment, `flexauth dev` for its dev account.
type Accounts struct {
	store AccountStore
	now   func() time.Time
}

// NewAccounts returns the account set-up over st; now dates what it
// creates (time.Now when nil).
func NewAccounts(st AccountStore, now func() time.Time) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{store: st, now: now}
}

// NewAccount is an account to set up.
type NewAccount struct {
	ID, Name string
	// Keys are the API keys to issue, each shown once by Create.
	Keys []NewKey
	// Admin is a first console administrator to create (nil: none).
	Admin *ConsoleAdmin
	// Actor is who sets the account up, as its audit events say
	// ("flexauth account create").
	Actor string
	// ReuseExisting gives an existing account the keys instead of refusing
	// it with ErrAccountExists (a dev data folder whose key file is gone).
	ReuseExisting bool
}

// NewKey is an API key to issue.
type NewKey struct {
	Name  string
	Scope string // store.ScopeApp or store.ScopeAdmin
}

// ConsoleAdmin is a console administrator to create.
type ConsoleAdmin struct {
	AuthID, Email, Name string
	Method              string // how they sign in to the console: passwordless or pin
}

// Create creates the account, its keys and its console system (with Admin
// assigned to it when set), and returns the keys in clear, in the order of
// n.Keys: they are stored only hashed.
func (a *Accounts) Create(ctx context.Context, n NewAccount) ([]string, error) {
	now := a.now().UTC()
	name := n.Name
	if name == "" {
		name = n.ID
	}
	err := a.store.CreateAccount(ctx, &store.Account{ID: n.ID, Name: name, CreatedAt: now})
	switch {
	case errors.Is(err, store.ErrConflict) && n.ReuseExisting:
	case errors.Is(err, store.ErrConflict):
		return nil, fmt.Errorf("account %q: %w", n.ID, ErrAccountExists)
	case err != nil:
		return nil, fmt.Errorf("create account %s: %w", n.ID, err)
	}
	keys := make([]string, len(n.Keys))
	for i, k := range n.Keys {
		prefix := secret.AppKeyPrefix
		if k.Scope == store.ScopeAdmin {
			prefix = secret.AdminKeyPrefix
		}
		key, err := secret.NewAPIKey(prefix)
		if err != nil {
			return nil, err
		}
		err = a.store.CreateAPIKey(ctx, &store.APIKey{
			ID: uuid.NewString(), AccountID: n.ID, Name: k.Name, Scope: k.Scope,
			Hash: secret.HashAPIKey(key), CreatedAt: now,
		}, cliEvent(n.ID, now, n.Actor, "key.created", "", ""))
		if err != nil {
			return nil, fmt.Errorf("create the account's %s: %w", k.Name, err)
		}
		keys[i] = key
	}
	if err := a.EnsureConsole(ctx, n.ID, n.Admin, n.Actor); err != nil {
		return nil, err
	}
	return keys, nil
}

// EnsureConsole makes sure the account has its console system and, when
// admin is set, that user assigned to it. It creates only what is missing
// (an existing user is left as it is), so it can run at every start.
func (a *Accounts) EnsureConsole(ctx context.Context, account string, admin *ConsoleAdmin, actor string) error {
	now := a.now().UTC()
	sys, err := a.store.GetSystem(ctx, account, ConsoleSystem)
	if errors.Is(err, store.ErrNotFound) {
		sys = store.System{
			ID: uuid.NewString(), AccountID: account, Name: ConsoleSystem,
			Methods: []string{attempt.MethodPasswordless, attempt.MethodPIN, attempt.MethodTOTP}, Sensitivity: "medium", TTLSeconds: 600,
			CreatedAt: now, UpdatedAt: now,
		}
		err = a.store.CreateSystem(ctx, &sys, cliEvent(account, now, actor, "system.created", ConsoleSystem, ""))
	}
	if err != nil {
		return fmt.Errorf("create the console system of %s: %w", account, err)
	}
	if admin == nil {
		return nil
	}
	if _, err := a.store.GetUser(ctx, account, admin.AuthID); !errors.Is(err, store.ErrNotFound) {
		if err != nil {
			return fmt.Errorf("load console administrator %s: %w", admin.AuthID, err)
		}
		return nil
	}
	u := store.User{
		ID: uuid.NewString(), AccountID: account, AuthID: admin.AuthID, Name: admin.Name,
		Email: admin.Email, Status: store.UserActive, CreatedAt: now, UpdatedAt: now,
	}
	if err := a.store.CreateUser(ctx, &u, cliEvent(account, now, actor, "user.created", "", admin.AuthID)); err != nil {
		return fmt.Errorf("create console administrator %s: %w", admin.AuthID, err)
	}
	err = a.store.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: sys.ID, Method: admin.Method}},
		cliEvent(account, now, actor, "assignments.updated", "", admin.AuthID))
	if err != nil {
		return fmt.Errorf("assign console administrator %s: %w", admin.AuthID, err)
	}
	return nil
}

// cliEvent is the audit event of a change made from the command line.
func cliEvent(account string, at time.Time, actor, typ, system, authid string) store.AuditEvent {
	if actor == "" {
		actor = "flexauth"
	}
	return store.AuditEvent{
		AccountID: account, Time: at, Type: typ, System: system, AuthID: authid,
		Detail: map[string]any{"actor": actor},
	}
}
