package policies

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ActiveVersions is what a Registry reads: which policy version decides
// for an account (its own or an ancestor's, see store.EffectivePolicy),
// and that version's Rego source. *store.Store satisfies it; the package
// names no store type, so that it stays free of persistence.
type ActiveVersions interface {
	EffectivePolicy(ctx context.Context, accountID string) (owner string, version int, err error)
	PolicyRego(ctx context.Context, accountID string, version int) (string, error)
}

// BuiltinVersion is the version number of the built-in default policy,
// as the store records it (BuiltinVersion; a test ties them).
const BuiltinVersion = 0

// decider is a compiled policy, or a stand-in that denies (Unavailable).
type decider interface {
	Decide(ctx context.Context, in Input) (Decision, error)
}

var (
	_ decider = (*Engine)(nil)
	_ decider = Unavailable{}
	_ decider = (*Registry)(nil)
)

// Registry decides with each account's active policy: the version the
// account uploaded and activated, else the one its nearest ancestor
// organisation did (a sub-organisation inherits until it uploads its own),
// else the built-in default (version 0). Each
// version is compiled once, when it is first needed, and kept until the
// account activates another; only the active version number is read per
// decision, so an upload or a rollback takes effect at the next one.
//
// A stored version that fails to compile fails closed: every decision
// denies with the compile error as the reason. It is safe for concurrent
// use.
type Registry struct {
	versions ActiveVersions
	builtin  *compiled

	mu       sync.Mutex
	accounts map[string]*compiled // each owner's active version, once seen: its inheriting sub-organisations share it
}

// NewRegistry returns a registry reading active versions from versions.
// Nothing is compiled until it is needed (see Preload).
func NewRegistry(versions ActiveVersions) *Registry {
	return &Registry{
		versions: versions,
		builtin:  &compiled{version: BuiltinVersion},
		accounts: map[string]*compiled{},
	}
}

// Preload compiles the built-in default policy now, so that a broken build
// shows at start rather than at the first sign-in. Decisions fail closed
// either way.
func (r *Registry) Preload(ctx context.Context) error {
	_, err := r.builtin.get(ctx, compileBuiltin)
	return err
}

// Decide evaluates the active policy of in.Subject.Account. Like Engine, it
// fails closed: any error (the active version cannot be read, does not
// compile or fails to evaluate) comes with a denying decision whose reason
// says what broke.
func (r *Registry) Decide(ctx context.Context, in Input) (Decision, error) {
	d, _, err := r.DecideVersion(ctx, in)
	return d, err
}

// DecideVersion is Decide, also saying which policy version decided
// (0 for the built-in default); an inherited version is numbered among
// the versions of the ancestor that uploaded it.
func (r *Registry) DecideVersion(ctx context.Context, in Input) (Decision, int, error) {
	return r.decideVersion(ctx, r.versions, in)
}

// DecideWith is Decide reading the active version, and a version not
// compiled yet, from versions rather than the registry's own: a caller
// within a transaction reads through it (a second connection could wait
// for the one the transaction holds).
func (r *Registry) DecideWith(ctx context.Context, versions ActiveVersions, in Input) (Decision, error) {
	d, _, err := r.decideVersion(ctx, versions, in)
	return d, err
}

func (r *Registry) decideVersion(ctx context.Context, versions ActiveVersions, in Input) (Decision, int, error) {
	account, version, err := versions.EffectivePolicy(ctx, in.Subject.Account)
	if err != nil {
		d, err := Unavailable{Err: fmt.Errorf("read the active policy version: %w", err)}.Decide(ctx, in)
		return d, 0, err
	}
	c := r.builtin
	build := compileBuiltin
	if version != BuiltinVersion {
		c = r.entry(account, version)
		build = func(ctx context.Context) (*Engine, error) { return compileStored(ctx, versions, account, version) }
	}
	engine, err := c.get(ctx, build)
	if err != nil {
		d, err := Unavailable{Err: err}.Decide(ctx, in)
		return d, version, err
	}
	d, err := engine.Decide(ctx, in)
	return d, version, err
}

// entry returns the account's cache entry for version, replacing the entry
// of the version it used before.
func (r *Registry) entry(account string, version int) *compiled {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.accounts[account]
	if c == nil || c.version != version {
		c = &compiled{version: version}
		r.accounts[account] = c
	}
	return c
}

func compileBuiltin(ctx context.Context) (*Engine, error) {
	e, err := New(ctx, Default())
	if err != nil {
		return nil, fmt.Errorf("built-in policy: %w", err)
	}
	return e, nil
}

func compileStored(ctx context.Context, versions ActiveVersions, account string, version int) (*Engine, error) {
	rego, err := versions.PolicyRego(ctx, account, version)
	if err != nil {
		return nil, fmt.Errorf("load policy version %d: %w", version, retry{err})
	}
	e, err := New(ctx, map[string]string{UploadModuleFile: rego})
	if err != nil {
		return nil, fmt.Errorf("policy version %d: %w", version, err)
	}
	return e, nil
}

// retry marks a failure that says nothing about the policy itself (the
// store could not be read, the caller gave up): it is not remembered, and
// the next decision tries again.
type retry struct{ err error }

func (r retry) Error() string { return r.err.Error() }
func (r retry) Unwrap() error { return r.err }

// compiled is one policy version, compiled at most once. Its result, a
// compile error included, is kept; a failure marked retry is not.
type compiled struct {
	version int

	mu     sync.Mutex
	engine *Engine
	err    error
}

func (c *compiled) get(ctx context.Context, build func(context.Context) (*Engine, error)) (*Engine, error) {
	// Holding the lock while compiling makes concurrent first decisions
	// wait for one compilation instead of each running their own.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine != nil || c.err != nil {
		return c.engine, c.err
	}
	e, err := build(ctx)
	var again retry
	switch {
	case err == nil:
		c.engine = e
	case ctx.Err() != nil, errors.As(err, &again):
		return nil, err
	default:
		c.err = err
	}
	return c.engine, c.err
}
