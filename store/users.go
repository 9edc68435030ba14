package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// CreateUser inserts a user with its audit events; ErrConflict when the
// authid is taken.
func (s *Store) CreateUser(ctx context.Context, u *User, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		_, err := db.NewInsert().Model(u).Exec(ctx)
		return conflict(err, "user "+u.AuthID)
	})
}

// UserFilter pages through an account's users.
type UserFilter struct {
	AccountID string
	// Branch widens the list to the users of AccountID's descendants too,
	// ordered by authid and then organisation (an authid is unique only
	// within its organisation).
	Branch bool
	Search string // matches authid, name or email, case-insensitively
	Limit  int
	Offset int
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ListUsers returns users by authid.
func (s *Store) ListUsers(ctx context.Context, f UserFilter) ([]User, error) {
	users := []User{}
	q := inAccount(s.db.NewSelect().Model(&users), f.AccountID, f.Branch).Order("authid", "account_id")
	q = f.search(q)
	if f.Limit > 0 {
		q = q.Limit(int64(f.Limit)).Offset(int64(f.Offset))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err, "users")
	}
	return users, nil
}

// search adds the filter's search to q. The search is literal: % and _
// typed by an admin match themselves.
func (f UserFilter) search(q *bun.SelectQuery) *bun.SelectQuery {
	if f.Search == "" {
		return q
	}
	like := "%" + likeEscaper.Replace(f.Search) + "%"
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where(`lower(authid) LIKE lower(?) ESCAPE '\'`, like).
			WhereOr(`lower(name) LIKE lower(?) ESCAPE '\'`, like).
			WhereOr(`lower(email) LIKE lower(?) ESCAPE '\'`, like)
	})
}

// GetUser loads a user by authid.
func (s *Store) GetUser(ctx context.Context, accountID, authid string) (User, error) {
	var u User
	err := s.db.NewSelect().Model(&u).Where("account_id = ? AND authid = ?", accountID, authid).Scan(ctx)
	if err != nil {
		return User{}, notFound(err, "user "+authid)
	}
	return u, nil
}

// UpdateUserProfile saves name, email, phone and status. A new email
// address is not verified, whatever proved the old one.
func (s *Store) UpdateUserProfile(ctx context.Context, u *User, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		if err := forgetOldEmail(ctx, db, u.ID, u.Email, u.UpdatedAt); err != nil {
			return err
		}
		res, err := db.NewUpdate().Model(u).
			Column("name", "email", "phone", "status", "updated_at").
			Set(unverifiedIfChanged, u.Email).
			WherePK().Exec(ctx)
		return affected(res, err, "user "+u.AuthID)
	})
}

// unverifiedIfChanged, set in the update that saves a user's email, keeps
// the verification only when the address stays the same (the right-hand
// email is the row's old value).
const unverifiedIfChanged = "email_verified_at = CASE WHEN email = ? THEN email_verified_at END"

// forgetOldEmail voids the unused links that would prove the user's email
// address, or use it as a way back in, when email is a new address: they
// were sent to the old one. Run before the update that saves email.
func forgetOldEmail(ctx context.Context, db bun.IDB, userID, email string, at time.Time) error {
	_, err := db.NewUpdate().Model((*CredentialLink)(nil)).
		Set("voided_at = ?", at).Set("sealed = NULL").
		Where("user_id = ? AND purpose IN (?) AND used_at IS NULL AND voided_at IS NULL", userID, bun.List([]string{LinkVerifyEmail, LinkRecover})).
		Where("EXISTS (SELECT 1 FROM users AS u WHERE u.id = ? AND u.email <> ?)", userID, email).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("void email links of user %s: %w", userID, err)
	}
	return nil
}

// DeleteUser removes a user with its assignments and credentials;
// ErrLastConsoleAdmin when it is the account's last console administrator.
func (s *Store) DeleteUser(ctx context.Context, accountID, authid string, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		guard, err := s.guardConsoleAdmins(ctx, db, accountID)
		if err != nil {
			return err
		}
		res, err := db.NewDelete().Model((*User)(nil)).
			Where("account_id = ? AND authid = ?", accountID, authid).Exec(ctx)
		if err := affected(res, err, "user "+authid); err != nil {
			return err
		}
		return guard.check(ctx, db)
	})
}

// SetAssignments replaces all of a user's assignments at once;
// ErrLastConsoleAdmin when that takes the console system away from the
// account's last console administrator.
func (s *Store) SetAssignments(ctx context.Context, userID string, as []Assignment, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, tx bun.IDB) error {
		var accountID string
		if err := tx.NewSelect().Model((*User)(nil)).Column("account_id").Where("id = ?", userID).Scan(ctx, &accountID); err != nil {
			return notFound(err, "user "+userID)
		}
		guard, err := s.guardConsoleAdmins(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*Assignment)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return fmt.Errorf("clear assignments: %w", err)
		}
		if len(as) > 0 {
			if _, err := tx.NewInsert().Model(&as).Exec(ctx); err != nil {
				return conflict(err, "assignments")
			}
		}
		return guard.check(ctx, tx)
	})
}

// ListAssignments returns a user's systems and methods by system name.
func (s *Store) ListAssignments(ctx context.Context, userID string) ([]AssignedSystem, error) {
	out := []AssignedSystem{}
	err := s.db.NewSelect().
		TableExpr("assignments AS a").
		Join("JOIN systems AS s ON s.id = a.system_id").
		ColumnExpr("s.name AS system, a.method AS method").
		Where("a.user_id = ?", userID).
		Order("s.name").
		Scan(ctx, &out)
	if err != nil {
		return nil, notFound(err, "assignments")
	}
	return out, nil
}

// GetAssignment loads the user's assignment for a system.
func (s *Store) GetAssignment(ctx context.Context, userID, systemID string) (Assignment, error) {
	var a Assignment
	err := s.db.NewSelect().Model(&a).Where("user_id = ? AND system_id = ?", userID, systemID).Scan(ctx)
	if err != nil {
		return Assignment{}, notFound(err, "assignment")
	}
	return a, nil
}

// SetTOTPPending stores a sealed seed awaiting its first code.
func (s *Store) SetTOTPPending(ctx context.Context, userID string, sealed []byte, at time.Time, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		res, err := db.NewUpdate().Model((*User)(nil)).
			Set("totp_pending = ?", sealed).Set("updated_at = ?", at).
			Where("id = ?", userID).Exec(ctx)
		return affected(res, err, "user")
	})
}

// ActivateTOTP promotes the pending seed (sealed again for its new column),
// records step as used, so the enrolment code cannot sign in, and dates
// the enrolment.
func (s *Store) ActivateTOTP(ctx context.Context, userID string, sealed []byte, step int64, at time.Time, events ...AuditEvent) error {
	return s.ActivateTOTPWith(ctx, userID, sealed, step, at, ChangeRecord{Events: events})
}

// UseTOTPStep records a TOTP time step as used. It reports false when this
// or a later step was already used: each code signs in once.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.db.NewUpdate().Model((*User)(nil)).
		Set("totp_last_step = ?", step).
		Where("id = ? AND totp_last_step < ?", userID, step).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecordLogin notes a successful sign-in: last login, count, IP, and ends
// the run of failures of the factor that signed in ("" for none).
func (s *Store) RecordLogin(ctx context.Context, userID, ip, factor string, at time.Time) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return recordLogin(ctx, tx, userID, ip, factor, at)
	})
}

func recordLogin(ctx context.Context, db bun.IDB, userID, ip, factor string, at time.Time) error {
	_, err := db.NewUpdate().Model((*User)(nil)).
		Set("last_login_at = ?", at).
		Set("login_count = login_count + 1").
		Set("last_ip = ?", ip).
		Where("id = ?", userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	if factor != "" {
		// Only a success with the factor ends its run: a link sign-in must
		// not reopen a PIN someone is guessing.
		_, err := db.NewDelete().Model((*FactorLock)(nil)).Where("user_id = ? AND factor = ?", userID, factor).Exec(ctx)
		if err != nil {
			return fmt.Errorf("end %s failures: %w", factor, err)
		}
	}
	if ip == "" {
		return nil
	}
	_, err = db.NewInsert().Model(&UserIP{UserID: userID, IP: ip, FirstSeen: at, LastSeen: at}).
		On("CONFLICT (user_id, ip) DO UPDATE").
		Set("last_seen = EXCLUDED.last_seen").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record login ip: %w", err)
	}
	return nil
}

// KnownIP reports whether the user has signed in from ip before.
func (s *Store) KnownIP(ctx context.Context, userID, ip string) (bool, error) {
	ok, err := s.db.NewSelect().Model((*UserIP)(nil)).Where("user_id = ? AND ip = ?", userID, ip).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("look up known ip: %w", err)
	}
	return ok, nil
}

// KnownIPOf reports whether a successful sign-in of the account's user
// authid (or, with authid "", of any of its users) came from ip.
func (s *Store) KnownIPOf(ctx context.Context, accountID, authid, ip string) (bool, error) {
	if ip == "" {
		return false, nil
	}
	q := s.db.NewSelect().TableExpr("user_ips AS ui").Join("JOIN users AS u ON u.id = ui.user_id").
		Where("u.account_id = ? AND ui.ip = ?", accountID, ip)
	if authid != "" {
		q = q.Where("u.authid = ?", authid)
	}
	ok, err := q.Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("look up known ip: %w", err)
	}
	return ok, nil
}

// UserByID loads a user by ID.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	var u User
	if err := s.db.NewSelect().Model(&u).Where("id = ?", id).Scan(ctx); err != nil {
		return User{}, notFound(err, "user "+id)
	}
	return u, nil
}

// SignInUser is a user as a sign-in sees them: the user with their method
// on the system signed in to and whether they signed in from the address
// before.
type SignInUser struct {
	User
	// Assigned is the user's method on the system; "" when the user is
	// not assigned to it.
	Assigned string
	KnownIP  bool
	// EmailDelivery is the account's switch: whether email may carry its
	// codes and links.
	EmailDelivery bool
}

// signInUserRow is GetSignInUser's row.
type signInUserRow struct {
	User          `bun:",extend"`
	Assigned      *string `bun:"assigned,scanonly"`
	KnownIP       bool    `bun:"known_ip,scanonly"`
	EmailDelivery bool    `bun:"email_delivery,scanonly"`
}

// signInUserSQL is GetSignInUser's statement, built by bun from the
// User model (so that it follows the model's columns) with ? for its
// arguments: the system's ID, the address, the account's ID and authid.
func signInUserSQL(db *bun.DB) string {
	arg := bun.Safe("?")
	return db.NewSelect().Model((*signInUserRow)(nil)).ColumnExpr("?TableColumns").
		ColumnExpr("(SELECT a.method FROM assignments AS a WHERE a.user_id = ?TableAlias.id AND a.system_id = ?) AS assigned", arg).
		ColumnExpr("EXISTS (SELECT 1 FROM user_ips AS ui WHERE ui.user_id = ?TableAlias.id AND ui.ip = ?) AS known_ip", arg).
		ColumnExpr("(SELECT acc.email_delivery FROM accounts AS acc WHERE acc.id = ?TableAlias.account_id) AS email_delivery").
		Where("?TableAlias.account_id = ? AND ?TableAlias.authid = ?", arg, arg).
		String()
}

// GetSignInUser loads the account's user authid with their assignment to
// the system systemID, whether a successful sign-in of theirs came from
// ip and whether the account delivers by email, in one query: a start and
// its delivery read them together.
func (s *Store) GetSignInUser(ctx context.Context, accountID, authid, systemID, ip string) (SignInUser, error) {
	var row signInUserRow
	err := s.scanPrepared(ctx, &s.prepared.signInUser, []any{systemID, ip, accountID, authid}, &row)
	if err != nil {
		return SignInUser{}, notFound(err, "user "+authid)
	}
	u := SignInUser{User: row.User, KnownIP: row.KnownIP, EmailDelivery: row.EmailDelivery}
	if row.Assigned != nil {
		u.Assigned = *row.Assigned
	}
	return u, nil
}
