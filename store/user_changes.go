package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// importBatch is how many rows one INSERT or DELETE of a batch of user
// changes carries: 10 000 users in one statement would make a query of
// megabytes.
const importBatch = 500

// UserChange is one user a batch of changes (an import, a single create or
// edit, a selection in the console) creates or changes.
type UserChange struct {
	// User is the whole new user when Create is set; otherwise its ID and
	// the profile (name, email, phone, status, email_password_login,
	// updated_at) to save.
	User        User
	Create      bool
	SaveProfile bool
	// EnablesPasswordLogin says the change turns the user's email and
	// password sign-in on: refused (ErrPasswordLoginOff) unless the
	// account's switch is on when the transaction runs.
	EnablesPasswordLogin bool
	// ReplaceAssignments replaces all the user's assignments with
	// Assignments (none when empty).
	ReplaceAssignments bool
	Assignments        []Assignment
	// IssueLink requests a credential link for the user (its delivery is
	// started after the commit), voiding the user's unused links of the
	// same purpose; it too needs the account's switch on. VoidLinks voids
	// the user's unused links of these purposes.
	IssueLink *CredentialLink
	VoidLinks []string
}

// ErrPasswordLoginOff refuses to give a user email and password sign-in
// while the account's switch is off.
var ErrPasswordLoginOff = errors.New("email and password sign-in is off for the account")

// ApplyUserChanges creates and updates an account's users, replaces their
// assignments and issues or voids their credential links, with events, in
// one transaction: every change or none. ErrConflict when a user to create
// exists, ErrNotFound when one to update is gone (the account changed
// since the caller compared with it), ErrPasswordLoginOff as said on
// UserChange. Users not listed are left alone.
func (s *Store) ApplyUserChanges(ctx context.Context, accountID string, changes []UserChange, events ...AuditEvent) error {
	return s.ApplyUserChangeBatches(ctx, []UserChangeBatch{{AccountID: accountID, Changes: changes}}, events...)
}

// UserChangeBatch is the changes to one account's users.
type UserChangeBatch struct {
	AccountID string
	Changes   []UserChange
}

// ApplyUserChangeBatches applies the batches of several accounts (an
// import into the organisations of a branch) as ApplyUserChanges applies
// one, all in one transaction: every change of every account, or none.
// ErrLastConsoleAdmin when the changes would leave an account that has an
// active console administrator without one.
func (s *Store) ApplyUserChangeBatches(ctx context.Context, batches []UserChangeBatch, events ...AuditEvent) error {
	plans := make([]changePlan, len(batches))
	for i, b := range batches {
		p, err := planUserChanges(b.AccountID, b.Changes)
		if err != nil {
			return err
		}
		plans[i] = p
	}
	var guarded []string
	for _, p := range plans {
		if p.mayRemoveConsoleAdmins {
			guarded = append(guarded, p.accountID)
		}
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		guard, err := s.guardConsoleAdmins(ctx, tx, guarded...)
		if err != nil {
			return err
		}
		for _, p := range plans {
			if err := s.applyUserChanges(ctx, tx, p); err != nil {
				return err
			}
		}
		if err := guard.check(ctx, tx); err != nil {
			return err
		}
		// Two events per user may be 20 000: in batches too.
		for batch := range slices.Chunk(events, importBatch) {
			if err := appendAudit(ctx, tx, batch); err != nil {
				return err
			}
		}
		return nil
	})
}

// changePlan is one account's changes sorted by what each statement of
// their transaction does.
type changePlan struct {
	accountID   string
	changes     []UserChange
	created     []User
	replaced    []string // user IDs
	assignments []Assignment
	links       []CredentialLink
	voids       map[string][]string // purpose -> user IDs
	needsSwitch bool
	// mayRemoveConsoleAdmins: a change disables a user or replaces
	// assignments, so the account's console administrators are guarded.
	mayRemoveConsoleAdmins bool
	// Links are voided and issued at the time of the changes (the callers
	// date them); their clock, not the database's.
	at time.Time
}

// planUserChanges checks that the changes are all of the account's users
// and sorts them into a plan.
func planUserChanges(accountID string, changes []UserChange) (changePlan, error) {
	p := changePlan{accountID: accountID, changes: changes, voids: map[string][]string{}}
	for _, c := range changes {
		if c.User.UpdatedAt.After(p.at) {
			p.at = c.User.UpdatedAt
		}
		if c.User.AccountID != accountID {
			return changePlan{}, fmt.Errorf("change user %q: belongs to account %q, not %q", c.User.AuthID, c.User.AccountID, accountID)
		}
		if c.Create {
			p.created = append(p.created, c.User)
		}
		if c.ReplaceAssignments || !c.Create && c.SaveProfile && c.User.Status != UserActive {
			p.mayRemoveConsoleAdmins = true
		}
		if c.ReplaceAssignments {
			p.replaced = append(p.replaced, c.User.ID)
			p.assignments = append(p.assignments, c.Assignments...)
		}
		for _, purpose := range c.VoidLinks {
			p.voids[purpose] = append(p.voids[purpose], c.User.ID)
		}
		if l := c.IssueLink; l != nil {
			if l.AccountID != accountID || l.UserID != c.User.ID {
				return changePlan{}, fmt.Errorf("change user %q: its link is for another user", c.User.AuthID)
			}
			p.links = append(p.links, *l)
		}
		p.needsSwitch = p.needsSwitch || c.EnablesPasswordLogin || c.IssueLink != nil
	}
	return p, nil
}

// applyUserChanges runs one account's plan in the caller's transaction.
func (s *Store) applyUserChanges(ctx context.Context, tx bun.Tx, p changePlan) error {
	if p.needsSwitch {
		if err := s.passwordLoginAllowed(ctx, tx, p.accountID); err != nil {
			return err
		}
	}
	for batch := range slices.Chunk(p.created, importBatch) {
		if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return conflict(err, "users")
		}
	}
	for _, c := range p.changes {
		if c.Create || !c.SaveProfile {
			continue
		}
		// A new address is not verified, whatever proved the old one.
		if err := forgetOldEmail(ctx, tx, c.User.ID, c.User.Email, p.at); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model(&c.User).
			Column("name", "email", "phone", "status", "email_password_login", "updated_at").
			Set(unverifiedIfChanged, c.User.Email).
			WherePK().Where("account_id = ?", p.accountID).Exec(ctx)
		if err := affected(res, err, "user "+c.User.AuthID); err != nil {
			return err
		}
	}
	for batch := range slices.Chunk(p.replaced, importBatch) {
		if _, err := tx.NewDelete().Model((*Assignment)(nil)).Where("user_id IN (?)", bun.List(batch)).Exec(ctx); err != nil {
			return fmt.Errorf("clear users' assignments: %w", err)
		}
	}
	for batch := range slices.Chunk(p.assignments, importBatch) {
		if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return conflict(err, "assignments")
		}
	}
	for purpose, users := range p.voids {
		if err := voidLinks(ctx, tx, purpose, users, p.at); err != nil {
			return err
		}
	}
	return issueLinks(ctx, tx, p.links, p.at)
}

// passwordLoginAllowed refuses with ErrPasswordLoginOff unless the
// email and password switch that applies to the account, its top
// organisation's, is on. On PostgreSQL the top's row is share-locked until
// the transaction ends, so that turning the switch off waits for it rather
// than passing it unseen.
func (s *Store) passwordLoginAllowed(ctx context.Context, tx bun.IDB, accountID string) error {
	var on bool
	q := ancestorsCTE + `SELECT t.email_password_login FROM accounts t JOIN up ON t.id = up.id WHERE up.parent_id IS NULL`
	if s.postgres {
		q += ` FOR SHARE OF t`
	}
	if err := tx.NewRaw(q, accountID).Scan(ctx, &on); err != nil {
		return notFound(err, "account "+accountID)
	}
	if !on {
		return ErrPasswordLoginOff
	}
	return nil
}

// UserAssignment is one assignment of an account, for listing them all at
// once.
type UserAssignment struct {
	UserID string `bun:"user_id"`
	System string `bun:"system"`
	Method string `bun:"method"`
}

// ListAccountAssignments returns every assignment of the account's users
// by user and system name: one query instead of one per user.
func (s *Store) ListAccountAssignments(ctx context.Context, accountID string) ([]UserAssignment, error) {
	out := []UserAssignment{}
	err := s.db.NewSelect().
		TableExpr("assignments AS a").
		Join("JOIN systems AS s ON s.id = a.system_id").
		ColumnExpr("a.user_id AS user_id, s.name AS system, a.method AS method").
		Where("s.account_id = ?", accountID).
		OrderExpr("a.user_id, s.name").
		Scan(ctx, &out)
	if err != nil {
		return nil, notFound(err, "account assignments")
	}
	return out, nil
}
