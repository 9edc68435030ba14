package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// BuiltinPolicyVersion is the version number of the built-in default
// policy. It is never stored: an account without an active version of its
// own, or whose active version is this one, uses the default.
const BuiltinPolicyVersion = 0

// PolicyVersion is one uploaded version of an account's risk policy: the
// Rego module and the tests it passed when it was uploaded.
type PolicyVersion struct {
	bun.BaseModel `bun:"table:policy_versions"`

	AccountID string    `bun:"account_id,pk"`
	Version   int       `bun:"version,pk"`
	Rego      string    `bun:"rego,notnull"`
	Tests     string    `bun:"tests,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	CreatedBy string    `bun:"created_by,notnull"` // the actor, e.g. "key:<id>" or "console:<authid>"
}

// accountPolicy says which policy version an account uses.
type accountPolicy struct {
	bun.BaseModel `bun:"table:account_policies"`

	AccountID     string    `bun:"account_id,pk"`
	ActiveVersion int       `bun:"active_version,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// CreatePolicyVersion stores v as the account's next version and makes it
// active, with its audit events, in one transaction. It sets v.Version to
// the number given (1, 2, ...) and adds it as "version" to each event's
// Detail, which the caller cannot know in advance.
func (s *Store) CreatePolicyVersion(ctx context.Context, v *PolicyVersion, events ...AuditEvent) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Writing the account's row first serialises concurrent uploads on
		// PostgreSQL (the row stays locked until commit, and the next
		// statement sees what the other upload committed); SQLite
		// transactions are serialised already (_txlock=immediate).
		lock := accountPolicy{AccountID: v.AccountID, ActiveVersion: BuiltinPolicyVersion, UpdatedAt: v.CreatedAt}
		_, err := tx.NewInsert().Model(&lock).
			On("CONFLICT (account_id) DO UPDATE").
			Set("updated_at = EXCLUDED.updated_at").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("lock the policy of account %s: %w", v.AccountID, err)
		}
		var last sql.NullInt64
		err = tx.NewSelect().Model((*PolicyVersion)(nil)).ColumnExpr("MAX(version)").
			Where("account_id = ?", v.AccountID).Scan(ctx, &last)
		if err != nil {
			return fmt.Errorf("find the last policy version of account %s: %w", v.AccountID, err)
		}
		v.Version = int(last.Int64) + 1
		if _, err := tx.NewInsert().Model(v).Exec(ctx); err != nil {
			return conflict(err, fmt.Sprintf("policy version %d", v.Version))
		}
		if err := setActivePolicy(ctx, tx, v.AccountID, v.Version, v.CreatedAt); err != nil {
			return err
		}
		for i := range events {
			if events[i].Detail == nil {
				events[i].Detail = map[string]any{}
			}
			events[i].Detail["version"] = v.Version
		}
		return appendAudit(ctx, tx, events)
	})
}

// ActivatePolicyVersion makes version the account's active policy (a
// rollback, or a return to a later version), with its audit events.
// BuiltinPolicyVersion returns to the default policy; any other version
// must exist (ErrNotFound otherwise).
func (s *Store) ActivatePolicyVersion(ctx context.Context, accountID string, version int, at time.Time, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		if version != BuiltinPolicyVersion {
			exists, err := db.NewSelect().Model((*PolicyVersion)(nil)).
				Where("account_id = ? AND version = ?", accountID, version).Exists(ctx)
			if err != nil {
				return fmt.Errorf("look up policy version %d: %w", version, err)
			}
			if !exists {
				return fmt.Errorf("policy version %d: %w", version, ErrNotFound)
			}
		}
		return setActivePolicy(ctx, db, accountID, version, at)
	})
}

func setActivePolicy(ctx context.Context, db bun.IDB, accountID string, version int, at time.Time) error {
	row := accountPolicy{AccountID: accountID, ActiveVersion: version, UpdatedAt: at}
	_, err := db.NewInsert().Model(&row).
		On("CONFLICT (account_id) DO UPDATE").
		Set("active_version = EXCLUDED.active_version").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("set active policy of account %s to version %d: %w", accountID, version, err)
	}
	return nil
}

// ActivePolicyVersion returns the number of the account's active policy
// version; BuiltinPolicyVersion when it has none of its own.
func (s *Store) ActivePolicyVersion(ctx context.Context, accountID string) (int, error) {
	var row accountPolicy
	err := s.db.NewSelect().Model(&row).Where("account_id = ?", accountID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return BuiltinPolicyVersion, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load active policy of account %s: %w", accountID, err)
	}
	return row.ActiveVersion, nil
}

// effectivePolicySQL is EffectivePolicy's statement (see
// preparedStatements); its arguments: the account's ID and
// BuiltinPolicyVersion.
const effectivePolicySQL = `WITH RECURSIVE up(id, parent_id, depth) AS (
	SELECT id, parent_id, 0 FROM accounts WHERE id = ?
	UNION ALL
	SELECT a.id, a.parent_id, up.depth + 1 FROM accounts a JOIN up ON a.id = up.parent_id WHERE up.depth < 100000
)
SELECT p.account_id, p.active_version FROM up JOIN account_policies p ON p.account_id = up.id
WHERE p.active_version <> ?
ORDER BY up.depth LIMIT 1`

// EffectivePolicy says which policy decides for the account's users: the
// account's own active version when it has one (not BuiltinPolicyVersion),
// else its nearest ancestor's, found in one query; owner is the account
// whose version it is. With none up to the top organisation it is
// BuiltinPolicyVersion, owned by the account itself. Uploading a version
// makes the account's policy its own; activating BuiltinPolicyVersion
// returns it to inheriting.
func (s *Store) EffectivePolicy(ctx context.Context, accountID string) (owner string, version int, err error) {
	// depth orders the ancestors, nearest first; its bound only ends the
	// walk should a hand-edited database hold a cycle (moves never make
	// one).
	var rows []struct {
		AccountID     string `bun:"account_id"`
		ActiveVersion int    `bun:"active_version"`
	}
	err = s.scanPrepared(ctx, &s.prepared.policy, []any{accountID, BuiltinPolicyVersion}, &rows)
	if err != nil {
		return "", 0, fmt.Errorf("find the policy of account %s: %w", accountID, err)
	}
	if len(rows) == 0 {
		return accountID, BuiltinPolicyVersion, nil
	}
	return rows[0].AccountID, rows[0].ActiveVersion, nil
}

// GetPolicyVersion loads one stored version, sources included.
func (s *Store) GetPolicyVersion(ctx context.Context, accountID string, version int) (PolicyVersion, error) {
	var v PolicyVersion
	err := s.db.NewSelect().Model(&v).Where("account_id = ? AND version = ?", accountID, version).Scan(ctx)
	if err != nil {
		return PolicyVersion{}, notFound(err, fmt.Sprintf("policy version %d", version))
	}
	return v, nil
}

// PolicyRego is the Rego source of one stored version: what
// policies.Registry compiles (it satisfies policies.ActiveVersions).
func (s *Store) PolicyRego(ctx context.Context, accountID string, version int) (string, error) {
	v, err := s.GetPolicyVersion(ctx, accountID, version)
	return v.Rego, err
}

// ListPolicyVersions returns the account's stored versions, newest first,
// without their sources (Rego and Tests are empty): a list need not carry
// up to a mebibyte per version.
func (s *Store) ListPolicyVersions(ctx context.Context, accountID string) ([]PolicyVersion, error) {
	versions := []PolicyVersion{}
	err := s.db.NewSelect().Model(&versions).
		Column("account_id", "version", "created_at", "created_by").
		Where("account_id = ?", accountID).
		Order("version DESC").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list policy versions of account %s: %w", accountID, err)
	}
	return versions, nil
}
