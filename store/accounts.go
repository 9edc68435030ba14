package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// CreateAccount inserts an account. A new account always has email
// delivery on and email and password sign-in off (see Account);
// a.EmailDelivery is set from the database.
func (s *Store) CreateAccount(ctx context.Context, a *Account) error {
	_, err := s.db.NewInsert().Model(a).Exec(ctx)
	return conflict(err, "account "+a.ID)
}

// GetAccount loads an account by ID.
func (s *Store) GetAccount(ctx context.Context, id string) (Account, error) {
	var a Account
	if err := s.db.NewSelect().Model(&a).Where("id = ?", id).Scan(ctx); err != nil {
		return Account{}, notFound(err, "account "+id)
	}
	return a, nil
}

// AccountSettings are what an account's administrators change about the
// account itself.
type AccountSettings struct {
	// EmailDelivery allows sending links and codes to the account's users
	// by email.
	EmailDelivery bool
	// EmailPasswordLogin allows the account's users to be given sign-in
	// with email and password.
	EmailPasswordLogin bool
}

// Settings returns the account's settings.
func (a Account) Settings() AccountSettings {
	return AccountSettings{EmailDelivery: a.EmailDelivery, EmailPasswordLogin: a.EmailPasswordLogin}
}

// ErrSettingsChanged refuses a settings update made from settings that are
// no longer the account's: another administrator changed them meanwhile.
var ErrSettingsChanged = errors.New("account settings changed meanwhile")

// UpdateAccountSettings changes the account's settings from from to to and
// appends events in the same transaction. The update applies only while the
// settings are still from (else ErrSettingsChanged), so that what the audit
// trail records as the old value is the value that was replaced.
func (s *Store) UpdateAccountSettings(ctx context.Context, id string, from, to AccountSettings, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		res, err := db.NewUpdate().Model((*Account)(nil)).
			Set("email_delivery = ?", to.EmailDelivery).
			Set("email_password_login = ?", to.EmailPasswordLogin).
			Where("id = ? AND email_delivery = ? AND email_password_login = ?", id, from.EmailDelivery, from.EmailPasswordLogin).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("update settings of account %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		exists, err := db.NewSelect().Model((*Account)(nil)).Where("id = ?", id).Exists(ctx)
		if err != nil {
			return fmt.Errorf("look up account %s: %w", id, err)
		}
		if !exists {
			return fmt.Errorf("account %s: %w", id, ErrNotFound)
		}
		return fmt.Errorf("account %s: %w", id, ErrSettingsChanged)
	})
}

// CreateAPIKey inserts an API key (its hash) with its audit events.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		_, err := db.NewInsert().Model(k).Exec(ctx)
		return conflict(err, "api key "+k.Name)
	})
}

// APIKeyByHash finds the unrevoked key with this hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	err := s.db.NewSelect().Model(&k).
		Where("hash = ?", hash).
		Where("revoked_at IS NULL").
		Scan(ctx)
	if err != nil {
		return APIKey{}, notFound(err, "api key")
	}
	return k, nil
}

// TouchAPIKey records when a key was last used.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.NewUpdate().Model((*APIKey)(nil)).Set("last_used_at = ?", at).Where("id = ?", id).Exec(ctx)
	return affected(res, err, "api key "+id)
}

// ListAPIKeys returns the account's keys (hashes included), newest first.
func (s *Store) ListAPIKeys(ctx context.Context, accountID string) ([]APIKey, error) {
	keys := []APIKey{}
	if err := s.db.NewSelect().Model(&keys).Where("account_id = ?", accountID).Order("created_at DESC").Scan(ctx); err != nil {
		return nil, notFound(err, "api keys")
	}
	return keys, nil
}

// ErrLastAdminKey refuses to revoke the account's last admin key, which
// would lock its administrators out.
var ErrLastAdminKey = errors.New("the last admin key cannot be revoked")

// RevokeAPIKey revokes a key of the account at once: the next request with
// it is refused. The last admin key is kept (ErrLastAdminKey).
func (s *Store) RevokeAPIKey(ctx context.Context, accountID, id string, at time.Time, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		var k APIKey
		if err := db.NewSelect().Model(&k).Where("account_id = ? AND id = ? AND revoked_at IS NULL", accountID, id).Scan(ctx); err != nil {
			return notFound(err, "api key "+id)
		}
		if k.Scope == ScopeAdmin {
			n, err := db.NewSelect().Model((*APIKey)(nil)).
				Where("account_id = ? AND scope = ? AND revoked_at IS NULL", accountID, ScopeAdmin).Count(ctx)
			if err != nil {
				return fmt.Errorf("count admin keys: %w", err)
			}
			if n <= 1 {
				return ErrLastAdminKey
			}
		}
		res, err := db.NewUpdate().Model((*APIKey)(nil)).
			Set("revoked_at = ?", at).
			Where("account_id = ? AND id = ? AND revoked_at IS NULL", accountID, id).
			Exec(ctx)
		return affected(res, err, "api key "+id)
	})
}

func affected(res interface{ RowsAffected() (int64, error) }, err error, what string) error {
	if err != nil {
		return fmt.Errorf("update %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
