package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// CreateAccount inserts an account. A new account always has email
// delivery on and email and password sign-in off (see Account);
// a.EmailDelivery is set from the database. An id in use, or ever used by
// an organisation since deleted, is ErrConflict (see refuseDeletedID).
func (s *Store) CreateAccount(ctx context.Context, a *Account) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockTree(ctx, tx); err != nil {
			return err
		}
		if err := refuseDeletedID(ctx, tx, a.ID, "account "+a.ID); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(a).Exec(ctx)
		return conflict(err, "account "+a.ID)
	})
}

// accountSQL is GetAccount's statement (see preparedStatements); its
// arguments: the ID, false, the ID. The LEFT JOIN keeps an account caught
// in a hand-made cycle (no top): it is then its own top, with its switch
// off.
const accountSQL = ancestorsCTE + `
SELECT a.id, a.name, a.parent_id, a.created_at, a.email_delivery,
	coalesce(t.email_password_login, ?) AS email_password_login,
	coalesce(t.id, a.id) AS top_id, coalesce(t.name, a.name) AS top_name
FROM accounts a LEFT JOIN accounts t ON t.id = (SELECT id FROM up WHERE parent_id IS NULL)
WHERE a.id = ?`

// GetAccount loads an account by ID, in one query, with its top
// organisation (TopID, TopName) and the email and password switch that
// applies to it: its top organisation's (see Account.EmailPasswordLogin).
func (s *Store) GetAccount(ctx context.Context, id string) (Account, error) {
	var a Account
	err := s.scanPrepared(ctx, &s.prepared.account, []any{id, false, id}, &a)
	if err != nil {
		return Account{}, notFound(err, "account "+id)
	}
	return a, nil
}

// SetAtTopError refuses to change the email and password switch of a
// sub-organisation: it is set by its top organisation, TopID, for the
// whole tree.
type SetAtTopError struct{ TopID, TopName string }

func (e *SetAtTopError) Error() string {
	return fmt.Sprintf("email and password sign-in is set by the top organisation %q for all its sub-organisations", e.TopID)
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

// AffectedUsersError refuses to turn email and password sign-in off
// without confirming how many users lose their credentials: Affected is
// how many would, when the change was tried.
type AffectedUsersError struct{ Affected int }

func (e *AffectedUsersError) Error() string {
	return fmt.Sprintf("turning email and password sign-in off affects %d users, not the number confirmed", e.Affected)
}

// SettingsChange changes an account's settings from From to To.
type SettingsChange struct {
	AccountID string
	From, To  AccountSettings
	At        time.Time
	// ConfirmedUsers is how many users the administrator was told lose
	// their credentials when the change turns email and password sign-in
	// off: the change is refused (AffectedUsersError) unless it is the
	// count when it runs. Zero confirms a change that affects nobody.
	ConfirmedUsers int
	// Audit returns the change's events, given its outcome; they are
	// appended in its transaction. Nil for none.
	Audit func(SettingsOutcome) []AuditEvent
}

// SettingsOutcome is what a settings change did beyond the settings.
type SettingsOutcome struct {
	// Deleted is what turning email and password sign-in off deleted.
	Deleted CredentialsDeleted
	// Welcomed are the users sent a welcome link because the change
	// turned email and password sign-in on.
	Welcomed []Welcomed
}

// CredentialsDeleted counts what turning email and password sign-in off
// deleted.
type CredentialsDeleted struct {
	Users          int `json:"users"`          // users with the switch on or a password
	Passwords      int `json:"passwords"`      // their password hashes
	Authenticators int `json:"authenticators"` // their TOTP seeds, active or pending enrolment
	RecoveryCodes  int `json:"recovery_codes"` // their recovery codes, used or not
	Links          int `json:"links"`          // live welcome, reset and email verification links of the account
}

// Welcomed is a user sent a welcome link by a settings change.
type Welcomed struct {
	AccountID, UserID, AuthID, Email, LinkID string
}

// passwordLoginUsers selects the users of account whose credentials turning
// email and password sign-in off deletes: those with the switch on or a
// password. Users with neither keep their TOTP seed and recovery codes,
// which the app API's totp method uses without any password.
// The users are those of the account's whole branch: turned off at the
// top organisation, the switch is off for its whole tree.
func passwordLoginUsers(q *bun.SelectQuery, accountID string) *bun.SelectQuery {
	return q.Model((*User)(nil)).Where("account_id IN "+branchIDs, accountID).
		Where("(email_password_login OR password_hash IS NOT NULL)")
}

// CountPasswordLoginUsers counts the users whose credentials turning the
// account's email and password sign-in off would delete now, in the
// account and all its sub-organisations.
func (s *Store) CountPasswordLoginUsers(ctx context.Context, accountID string) (int, error) {
	n, err := count(ctx, passwordLoginUsers(s.db.NewSelect(), accountID))
	if err != nil {
		return 0, fmt.Errorf("count users with email and password sign-in: %w", err)
	}
	return n, nil
}

// UpdateAccountSettings changes the account's settings and appends the
// events of c.Audit in the same transaction. The update applies only while
// the settings are still c.From (else ErrSettingsChanged), so that what
// the audit trail records as the old value is the value that was replaced.
//
// Turning email and password sign-in off deletes, in that transaction,
// every password hash, TOTP seed (active or pending) and recovery code of
// the account's users who have the switch on or a password, and voids the
// account's live welcome, reset and email verification links; users keep
// their switches. Turning it on requests a welcome link for every user
// with the switch on, an email address and no password, when email
// delivery is (or goes) on as well.
//
// The switch is set at the top organisation for its whole tree: changing
// it at a sub-organisation is a SetAtTopError, and at the top the deletion
// and the welcome links cover the users of every organisation of the
// tree. Email delivery is each organisation's own.
func (s *Store) UpdateAccountSettings(ctx context.Context, c SettingsChange) (SettingsOutcome, error) {
	var out SettingsOutcome
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		out = SettingsOutcome{}
		var parentID sql.NullString
		if err := tx.NewSelect().Model((*Account)(nil)).Column("parent_id").Where("id = ?", c.AccountID).Scan(ctx, &parentID); err != nil {
			return notFound(err, "account "+c.AccountID)
		}
		top := !parentID.Valid
		if !top && c.From.EmailPasswordLogin != c.To.EmailPasswordLogin {
			// A top never gains a parent (moves stay inside a branch,
			// whose root does not move), so the top read here stays it.
			var t Account
			err := tx.NewRaw(ancestorsCTE+`SELECT t.id, t.name FROM accounts t JOIN up ON t.id = up.id WHERE up.parent_id IS NULL`, c.AccountID).Scan(ctx, &t)
			if err != nil {
				return fmt.Errorf("find the top organisation of %s: %w", c.AccountID, err)
			}
			return &SetAtTopError{TopID: t.ID, TopName: t.Name}
		}
		// The account's row first: on PostgreSQL this waits for every
		// transaction that share-locked it to set a password or turn a
		// user's switch on (passwordLoginAllowed), and holds off new ones
		// until this one ends; they then find the switch off. A
		// sub-organisation's own switch column is left alone: its top's
		// applies.
		q := tx.NewUpdate().Model((*Account)(nil)).
			Set("email_delivery = ?", c.To.EmailDelivery).
			Where("id = ? AND email_delivery = ?", c.AccountID, c.From.EmailDelivery)
		if top {
			q = q.Set("email_password_login = ?", c.To.EmailPasswordLogin).
				Where("email_password_login = ?", c.From.EmailPasswordLogin)
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("update settings of account %s: %w", c.AccountID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			exists, err := tx.NewSelect().Model((*Account)(nil)).Where("id = ?", c.AccountID).Exists(ctx)
			if err != nil {
				return fmt.Errorf("look up account %s: %w", c.AccountID, err)
			}
			if !exists {
				return fmt.Errorf("account %s: %w", c.AccountID, ErrNotFound)
			}
			return fmt.Errorf("account %s: %w", c.AccountID, ErrSettingsChanged)
		}
		switch {
		case c.From.EmailPasswordLogin && !c.To.EmailPasswordLogin:
			if out.Deleted, err = deletePasswordCredentials(ctx, tx, c.AccountID, c.ConfirmedUsers, c.At); err != nil {
				return err
			}
		case !c.From.EmailPasswordLogin && c.To.EmailPasswordLogin && c.To.EmailDelivery:
			if out.Welcomed, err = welcomeAgain(ctx, tx, c.AccountID, c.At); err != nil {
				return err
			}
		}
		if c.Audit == nil {
			return nil
		}
		for batch := range slices.Chunk(c.Audit(out), importBatch) {
			if err := appendAudit(ctx, tx, batch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SettingsOutcome{}, err
	}
	return out, nil
}

// deletePasswordCredentials deletes the credentials of the email and
// password users of the account's branch (see UpdateAccountSettings), once
// confirmed is their number, and voids the branch's live links.
func deletePasswordCredentials(ctx context.Context, tx bun.Tx, accountID string, confirmed int, at time.Time) (CredentialsDeleted, error) {
	var d CredentialsDeleted
	users := func() *bun.SelectQuery { return passwordLoginUsers(tx.NewSelect(), accountID) }
	var err error
	if d.Users, err = count(ctx, users()); err != nil {
		return d, fmt.Errorf("count users with email and password sign-in: %w", err)
	}
	if d.Users != confirmed {
		return d, &AffectedUsersError{Affected: d.Users}
	}
	if d.Passwords, err = count(ctx, users().Where("password_hash IS NOT NULL")); err != nil {
		return d, fmt.Errorf("count passwords: %w", err)
	}
	if d.Authenticators, err = count(ctx, users().Where("(totp_secret IS NOT NULL OR totp_pending IS NOT NULL)")); err != nil {
		return d, fmt.Errorf("count authenticators: %w", err)
	}
	// Recovery codes go first: the users' update below takes the
	// passwords that select them.
	res, err := tx.NewDelete().Model((*RecoveryCode)(nil)).
		Where("user_id IN (?)", users().Column("id")).Exec(ctx)
	if err != nil {
		return d, fmt.Errorf("delete recovery codes: %w", err)
	}
	d.RecoveryCodes = rows(res)
	_, err = tx.NewUpdate().Model((*User)(nil)).
		Set("password_hash = NULL").Set("password_set_at = NULL").Set("password_changed_at = NULL").
		Set("totp_secret = NULL").Set("totp_pending = NULL").Set("totp_enabled = ?", false).
		Set("updated_at = ?", at).
		Where("account_id IN "+branchIDs, accountID).
		Where("(email_password_login OR password_hash IS NOT NULL)").
		Exec(ctx)
	if err != nil {
		return d, fmt.Errorf("delete passwords and authenticators: %w", err)
	}
	res, err = tx.NewUpdate().Model((*CredentialLink)(nil)).
		Set("voided_at = ?", at).Set("sealed = NULL").
		Where("account_id IN "+branchIDs, accountID).
		Where("purpose <> ?", LinkNotice).
		Where("used_at IS NULL AND voided_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", at).
		Exec(ctx)
	if err != nil {
		return d, fmt.Errorf("void links: %w", err)
	}
	d.Links = rows(res)
	return d, nil
}

// welcomeAgain requests a welcome link for every user of the account's
// branch with the switch on, an email address and no password.
func welcomeAgain(ctx context.Context, tx bun.Tx, accountID string, at time.Time) ([]Welcomed, error) {
	var users []User
	err := tx.NewSelect().Model(&users).Column("id", "account_id", "authid", "email").
		Where("account_id IN "+branchIDs, accountID).
		Where("email_password_login AND email <> '' AND password_hash IS NULL").
		Order("account_id", "authid").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("load users to welcome: %w", err)
	}
	welcomed := make([]Welcomed, 0, len(users))
	links := make([]CredentialLink, 0, len(users))
	for _, u := range users {
		id := uuid.NewString()
		links = append(links, CredentialLink{ID: id, AccountID: u.AccountID, UserID: u.ID, Purpose: LinkWelcome, CreatedAt: at})
		welcomed = append(welcomed, Welcomed{AccountID: u.AccountID, UserID: u.ID, AuthID: u.AuthID, Email: u.Email, LinkID: id})
	}
	if err := issueLinks(ctx, tx, links, at); err != nil {
		return nil, err
	}
	return welcomed, nil
}

// count counts the rows q selects.
func count(ctx context.Context, q *bun.SelectQuery) (int, error) {
	n, err := q.Count(ctx)
	return int(n), err
}

// rows is how many rows a statement changed.
func rows(res sql.Result) int {
	n, _ := res.RowsAffected()
	return int(n)
}

// CreateAPIKey inserts an API key (its hash) with its audit events.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		_, err := db.NewInsert().Model(k).Exec(ctx)
		return conflict(err, "api key "+k.Name)
	})
}

// apiKeyByHashSQL is APIKeyByHash's statement (see preparedStatements),
// with ? for the hash.
func apiKeyByHashSQL(db *bun.DB) string {
	return db.NewSelect().Model((*APIKey)(nil)).
		Where("hash = ?", bun.Safe("?")).
		Where("revoked_at IS NULL").
		String()
}

// APIKeyByHash finds the unrevoked key with this hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	err := s.scanPrepared(ctx, &s.prepared.apiKey, []any{hash}, &k)
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
