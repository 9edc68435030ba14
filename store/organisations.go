package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// An account is an organisation: accounts.parent_id makes them one tree
// (a forest of top organisations, each created by `flexauth account
// create`). A branch is an organisation with all its descendants, to any
// depth; an administrator of an organisation manages its branch.
//
// Every change below takes the root of the caller's branch (Within) and
// checks, inside its transaction, that what it touches lies in that
// branch: an organisation outside it is ErrNotFound, exactly as one that
// does not exist.

// Organisation errors; api/ maps them to 409.
var (
	// ErrCycle refuses to move an organisation under itself or one of
	// its descendants.
	ErrCycle = errors.New("an organisation cannot move under itself or one of its descendants")
	// ErrOrganisationInUse refuses to delete an organisation that still
	// has users or sub-organisations.
	ErrOrganisationInUse = errors.New("the organisation still has users or sub-organisations")
	// ErrOwnOrganisation refuses to delete the root of the caller's
	// branch: its administrators would delete themselves out.
	ErrOwnOrganisation = errors.New("an organisation cannot delete itself")
)

// Organisation is an account as a node of the tree, with its number of
// users.
type Organisation struct {
	ID        string    `bun:"id"`
	Name      string    `bun:"name"`
	ParentID  string    `bun:"parent_id,nullzero"`
	CreatedAt time.Time `bun:"created_at"`
	Users     int       `bun:"users"`
}

// branchCTE selects the ids of the branch rooted at the first argument.
// UNION (not UNION ALL) ends the recursion even on a cycle, which moves
// never make but which a hand-edited database could hold.
const branchCTE = `WITH RECURSIVE branch(id) AS (
	SELECT id FROM accounts WHERE id = ?
	UNION
	SELECT a.id FROM accounts a JOIN branch b ON a.parent_id = b.id
)`

// ancestorsCTE selects the ids of the first argument and all its
// ancestors, up to its top organisation.
const ancestorsCTE = `WITH RECURSIVE up(id, parent_id) AS (
	SELECT id, parent_id FROM accounts WHERE id = ?
	UNION
	SELECT a.id, a.parent_id FROM accounts a JOIN up ON a.id = up.parent_id
)`

// branchIDs is a subquery selecting the ids of the branch rooted at its
// argument, for `account_id IN ?`-style conditions.
const branchIDs = `(` + branchCTE + ` SELECT id FROM branch)`

// inAccount adds to q the condition on its account_id column: the
// account alone, or with branch the account and all its descendants (the
// reports and lists an administrator reads for a whole branch).
func inAccount(q *bun.SelectQuery, accountID string, branch bool) *bun.SelectQuery {
	if branch {
		return q.Where("account_id IN "+branchIDs, accountID)
	}
	return q.Where("account_id = ?", accountID)
}

// topSwitch is a scalar subquery: the email and password switch of the
// top organisation of the account given as its argument, which applies to
// the whole tree (see Account.EmailPasswordLogin). NULL, so false, for an
// unknown account or one caught in a hand-made cycle: it fails closed.
const topSwitch = `(` + ancestorsCTE + `
SELECT t.email_password_login FROM accounts t JOIN up ON t.id = up.id WHERE up.parent_id IS NULL)`

// Ancestors returns id and its ancestors, nearest first, up to its top
// organisation: where an organisation's settings that flow down are
// looked for. An unknown id has none.
func (s *Store) Ancestors(ctx context.Context, id string) ([]string, error) {
	var ids []string
	err := s.db.NewRaw(`WITH RECURSIVE up(id, parent_id, depth) AS (
	SELECT id, parent_id, 0 FROM accounts WHERE id = ?
	UNION ALL
	SELECT a.id, a.parent_id, up.depth + 1 FROM accounts a JOIN up ON a.id = up.parent_id WHERE up.depth < 100000
)
SELECT id FROM up ORDER BY depth`, id).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("load the ancestors of %s: %w", id, err)
	}
	return ids, nil
}

// Branch returns the organisation rootID and all its descendants with
// their user counts, in one query: parents before their children is not
// promised, callers build the tree from ParentID. ErrNotFound when rootID
// does not exist.
func (s *Store) Branch(ctx context.Context, rootID string) ([]Organisation, error) {
	orgs := []Organisation{}
	err := s.db.NewRaw(branchCTE+`
SELECT a.id, a.name, a.parent_id, a.created_at,
	(SELECT count(*) FROM users u WHERE u.account_id = a.id) AS users
FROM accounts a JOIN branch b ON a.id = b.id
ORDER BY a.id`, rootID).Scan(ctx, &orgs)
	if err != nil {
		return nil, fmt.Errorf("load the branch of %s: %w", rootID, err)
	}
	if len(orgs) == 0 {
		return nil, fmt.Errorf("organisation %s: %w", rootID, ErrNotFound)
	}
	return orgs, nil
}

// IsInBranch reports whether id is ancestorID or one of its descendants.
// An unknown id is in no branch.
func (s *Store) IsInBranch(ctx context.Context, ancestorID, id string) (bool, error) {
	return inBranch(ctx, s.db, ancestorID, id)
}

func inBranch(ctx context.Context, db bun.IDB, ancestorID, id string) (bool, error) {
	var n int
	err := db.NewRaw(ancestorsCTE+`SELECT count(*) FROM up WHERE id = ?`, id, ancestorID).Scan(ctx, &n)
	if err != nil {
		return false, fmt.Errorf("look up %s among the ancestors of %s: %w", ancestorID, id, err)
	}
	return n > 0, nil
}

// requireInBranch is ErrNotFound unless id lies in the branch of within.
func requireInBranch(ctx context.Context, db bun.IDB, within, id string) error {
	ok, err := inBranch(ctx, db, within, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("organisation %s: %w", id, ErrNotFound)
	}
	return nil
}

// CreateOrganisation inserts org as a sub-organisation of org.ParentID,
// which must lie in the branch of within (else ErrNotFound); an id in use
// anywhere, or ever used by an organisation since deleted, is ErrConflict.
// The events are appended in its transaction.
func (s *Store) CreateOrganisation(ctx context.Context, within string, org *Account, events ...AuditEvent) error {
	if org.ParentID == "" {
		return fmt.Errorf("organisation %s: a sub-organisation needs a parent", org.ID)
	}
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		if err := s.lockTree(ctx, db); err != nil {
			return err
		}
		if err := requireInBranch(ctx, db, within, org.ParentID); err != nil {
			return err
		}
		if err := refuseDeletedID(ctx, db, org.ID, "organisation "+org.ID); err != nil {
			return err
		}
		_, err := db.NewInsert().Model(org).Exec(ctx)
		return conflict(err, "organisation "+org.ID)
	})
}

// deletedOrganisation is the id of a deleted organisation, never to be
// used again (see deletedOrganisationSchema).
type deletedOrganisation struct {
	bun.BaseModel `bun:"table:deleted_organisations"`

	ID        string    `bun:"id,pk"`
	DeletedAt time.Time `bun:"deleted_at,notnull"`
}

// refuseDeletedID is ErrConflict, exactly as for an id in use, when id
// was a deleted organisation's: its audit trail and attempts are still
// keyed by it, and a new organisation of that id would read them as its
// own. The same answer as for an id in use tells a caller nothing more
// than that the id is taken.
//
// The caller holds the tree lock (lockTree), which DeleteOrganisation
// takes too: an id cannot be deleted between this check and the insert.
func refuseDeletedID(ctx context.Context, db bun.IDB, id, what string) error {
	deleted, err := db.NewSelect().Model((*deletedOrganisation)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("look up %s among deleted organisations: %w", what, err)
	}
	if deleted {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return nil
}

// OrganisationUpdate is a change to an organisation: a new name, a new
// parent, or both; nil leaves that alone.
type OrganisationUpdate struct {
	Name   *string
	Parent *string
}

// RenameOrganisation renames id, which must lie in the branch of within.
func (s *Store) RenameOrganisation(ctx context.Context, within, id, name string, events ...AuditEvent) error {
	return s.UpdateOrganisation(ctx, within, id, OrganisationUpdate{Name: &name}, events...)
}

// MoveOrganisation makes id a sub-organisation of parentID (see
// UpdateOrganisation).
func (s *Store) MoveOrganisation(ctx context.Context, within, id, parentID string, events ...AuditEvent) error {
	return s.UpdateOrganisation(ctx, within, id, OrganisationUpdate{Parent: &parentID}, events...)
}

// UpdateOrganisation renames and/or moves id in one transaction with
// events: both changes or neither. id, and a new parent, must lie in the
// branch of within (else ErrNotFound), and id must not be the root of that
// branch when it moves, for its parent lies outside it (ErrCycle: it could
// only move under its own descendants). Moving under itself or a
// descendant is ErrCycle.
//
// Moves are serialised (see lockTree), so two concurrent moves cannot
// each pass the cycle check against the tree the other is changing.
func (s *Store) UpdateOrganisation(ctx context.Context, within, id string, u OrganisationUpdate, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		if u.Parent != nil {
			if err := s.lockTree(ctx, db); err != nil {
				return err
			}
		}
		if err := requireInBranch(ctx, db, within, id); err != nil {
			return err
		}
		q := db.NewUpdate().Model((*Account)(nil)).Where("id = ?", id)
		if u.Parent != nil {
			if err := requireInBranch(ctx, db, within, *u.Parent); err != nil {
				return err
			}
			// The new parent under id itself (or id itself): a cycle.
			// This also refuses moving the branch's root, which has every
			// other organisation of the branch under it.
			cycle, err := inBranch(ctx, db, id, *u.Parent)
			if err != nil {
				return err
			}
			if cycle {
				return fmt.Errorf("move %s under %s: %w", id, *u.Parent, ErrCycle)
			}
			q = q.Set("parent_id = ?", *u.Parent)
		}
		if u.Name != nil {
			q = q.Set("name = ?", *u.Name)
		}
		if u.Parent == nil && u.Name == nil {
			return nil
		}
		res, err := q.Exec(ctx)
		return affected(res, err, "organisation "+id)
	})
}

// DeleteOrganisation deletes id, which must lie in the branch of within
// and not be its root (ErrOwnOrganisation), once it has neither users nor
// sub-organisations (ErrOrganisationInUse). Its keys, systems, policies
// and settings go with it; its audit trail stays, and so that no one else
// reads it its id is never used again (refuseDeletedID).
func (s *Store) DeleteOrganisation(ctx context.Context, within, id string, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		if err := s.lockTree(ctx, db); err != nil {
			return err
		}
		if err := requireInBranch(ctx, db, within, id); err != nil {
			return err
		}
		if id == within {
			return fmt.Errorf("delete %s: %w", id, ErrOwnOrganisation)
		}
		// On PostgreSQL the row lock holds off users being added to it
		// (their foreign key check share-locks the row) until the delete
		// has committed; they then fail for want of the organisation.
		if s.postgres {
			if _, err := db.NewSelect().Model((*Account)(nil)).Column("id").Where("id = ?", id).For("UPDATE").Exec(ctx); err != nil {
				return fmt.Errorf("lock organisation %s: %w", id, err)
			}
		}
		users, err := db.NewSelect().Model((*User)(nil)).Where("account_id = ?", id).Count(ctx)
		if err != nil {
			return fmt.Errorf("count users of %s: %w", id, err)
		}
		children, err := db.NewSelect().Model((*Account)(nil)).Where("parent_id = ?", id).Count(ctx)
		if err != nil {
			return fmt.Errorf("count sub-organisations of %s: %w", id, err)
		}
		if users > 0 || children > 0 {
			return fmt.Errorf("delete %s (%d users, %d sub-organisations): %w", id, users, children, ErrOrganisationInUse)
		}
		res, err := db.NewDelete().Model((*Account)(nil)).Where("id = ?", id).Exec(ctx)
		if err := affected(res, err, "organisation "+id); err != nil {
			return err
		}
		// Dated as the deletion's audit event, by the caller's clock as
		// every time the store writes; without one, by this process's.
		tomb := deletedOrganisation{ID: id, DeletedAt: time.Now().UTC()}
		if len(events) > 0 {
			tomb.DeletedAt = events[0].Time
		}
		if _, err := db.NewInsert().Model(&tomb).Exec(ctx); err != nil {
			return fmt.Errorf("keep the id of deleted organisation %s: %w", id, err)
		}
		return nil
	})
}

// treeLockKey is the PostgreSQL advisory lock that serialises changes to
// the shape of the organisation tree (creation, moves, deletion). They
// are rare, so one lock for all trees costs nothing and leaves no room
// for two moves to interleave (A under B and B under A would otherwise
// each see no cycle). SQLite serialises writers already (_txlock=immediate).
const treeLockKey = 0x666c6578_6f726773 // "flexorgs"

func (s *Store) lockTree(ctx context.Context, db bun.IDB) error {
	if !s.postgres {
		return nil
	}
	if _, err := db.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", int64(treeLockKey)); err != nil {
		return fmt.Errorf("lock the organisation tree: %w", err)
	}
	return nil
}
