package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Credential link purposes: what following the link lets its holder do.
const (
	LinkWelcome     = "welcome"      // create a first password
	LinkReset       = "reset"        // choose a new password
	LinkVerifyEmail = "verify_email" // prove the email address
	// LinkRecover resets the second factor of a user who lost the
	// authenticator, from the TOTP step of a password attempt (AttemptID)
	// and in the browser that gave the password; the address must be
	// verified. See notices.go for LinkNotice.
	LinkRecover = "recover"
)

// CredentialLink is a one-time link sent to a user by email. The API
// requests it (a row without a token) in the transaction of the change
// that calls for it, which also voids the user's unused links of the same
// purpose; the delivery workflow draws its token, keeps it sealed until
// the message is out, and the page that serves the link uses it once.
type CredentialLink struct {
	bun.BaseModel `bun:"table:credential_links"`

	ID        string `bun:"id,pk"`
	AccountID string `bun:"account_id,notnull"`
	UserID    string `bun:"user_id,notnull"`
	Purpose   string `bun:"purpose,notnull"`
	// Digest is the keyed digest of the token, "" until it is drawn.
	Digest string `bun:"digest,nullzero"`
	// Sealed is the token sealed with the link's ID, kept only while its
	// delivery may be retried.
	Sealed    []byte     `bun:"sealed"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	ExpiresAt *time.Time `bun:"expires_at"` // set when the token is drawn
	SentAt    *time.Time `bun:"sent_at"`
	UsedAt    *time.Time `bun:"used_at"`
	// VoidedAt is set when the link stops working before it is used: a
	// newer link of the same purpose, the user's switch turned off, or a
	// delivery that failed for good.
	VoidedAt *time.Time `bun:"voided_at"`
	// DispatchedAt is set once the delivery workflow has been started;
	// DispatchFailures counts the starts that failed before.
	DispatchedAt     *time.Time `bun:"dispatched_at"`
	DispatchFailures int        `bun:"dispatch_failures,notnull"`
	// Notice is what a notice says (see notices.go); nil for links.
	Notice map[string]string `bun:"notice"`
	// AttemptID is the password attempt a recover link belongs to; "" for
	// every other purpose.
	AttemptID string `bun:"attempt_id,nullzero"`
}

// Live reports whether the link can still be used at t.
func (l CredentialLink) Live(t time.Time) bool {
	return l.Digest != "" && l.UsedAt == nil && l.VoidedAt == nil && l.ExpiresAt != nil && t.Before(*l.ExpiresAt)
}

// Closed reports whether the link was used or voided.
func (l CredentialLink) Closed() bool { return l.UsedAt != nil || l.VoidedAt != nil }

// ErrLinkGone refuses a link that is unknown, used, voided or expired, or
// whose user may no longer use it: the caller shows one page for all.
var ErrLinkGone = errors.New("credential link is unknown, used, voided or expired")

// issueLinks voids the unused links each new link replaces (the same user
// and purpose) and inserts the new ones, in the caller's transaction.
func issueLinks(ctx context.Context, db bun.IDB, links []CredentialLink, at time.Time) error {
	if len(links) == 0 {
		return nil
	}
	byPurpose := map[string][]string{}
	for _, l := range links {
		// Notices add up: each tells of its own event.
		if l.Purpose != LinkNotice {
			byPurpose[l.Purpose] = append(byPurpose[l.Purpose], l.UserID)
		}
	}
	for purpose, users := range byPurpose {
		if err := voidLinks(ctx, db, purpose, users, at); err != nil {
			return err
		}
	}
	for batch := range slices.Chunk(links, importBatch) {
		if _, err := db.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return conflict(err, "credential links")
		}
	}
	return nil
}

// voidLinks voids the unused links of purpose of these users.
func voidLinks(ctx context.Context, db bun.IDB, purpose string, userIDs []string, at time.Time) error {
	for batch := range slices.Chunk(userIDs, importBatch) {
		_, err := db.NewUpdate().Model((*CredentialLink)(nil)).
			Set("voided_at = ?", at).Set("sealed = NULL").
			Where("purpose = ? AND user_id IN (?)", purpose, bun.List(batch)).
			Where("used_at IS NULL AND voided_at IS NULL").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("void %s links: %w", purpose, err)
		}
	}
	return nil
}

// GetCredentialLink loads a link by ID.
func (s *Store) GetCredentialLink(ctx context.Context, id string) (CredentialLink, error) {
	var l CredentialLink
	if err := s.db.NewSelect().Model(&l).Where("id = ?", id).Scan(ctx); err != nil {
		return CredentialLink{}, notFound(err, "credential link "+id)
	}
	return l, nil
}

// CredentialLinkByDigest finds the link of purpose whose token has this
// digest, whatever its state.
func (s *Store) CredentialLinkByDigest(ctx context.Context, purpose, digest string) (CredentialLink, error) {
	var l CredentialLink
	if err := s.db.NewSelect().Model(&l).Where("digest = ? AND purpose = ?", digest, purpose).Scan(ctx); err != nil {
		return CredentialLink{}, notFound(err, "credential link")
	}
	return l, nil
}

// UndispatchedCredentialLinks returns up to limit open links created
// before before whose delivery has not been started, oldest first.
func (s *Store) UndispatchedCredentialLinks(ctx context.Context, before time.Time, limit int) ([]CredentialLink, error) {
	links := []CredentialLink{}
	err := s.db.NewSelect().Model(&links).
		Where("dispatched_at IS NULL AND used_at IS NULL AND voided_at IS NULL").
		Where("created_at < ?", before).
		Order("created_at").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "undispatched credential links")
	}
	return links, nil
}

// MarkCredentialLinkDispatched records that the link's delivery started.
func (s *Store) MarkCredentialLinkDispatched(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.NewUpdate().Model((*CredentialLink)(nil)).
		Set("dispatched_at = ?", at).Where("id = ? AND dispatched_at IS NULL", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark credential link %s dispatched: %w", id, err)
	}
	return nil
}

// CredentialLinkDispatchFailed counts a failed start of the link's
// delivery. The events are appended on the first failure only, so that a
// link retried every minute is audited once.
func (s *Store) CredentialLinkDispatchFailed(ctx context.Context, id string, events ...AuditEvent) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*CredentialLink)(nil)).
			Set("dispatch_failures = dispatch_failures + 1").
			Where("id = ? AND dispatched_at IS NULL", id).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("count a failed start of credential link %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		var failures int
		err = tx.NewSelect().Model((*CredentialLink)(nil)).Column("dispatch_failures").Where("id = ?", id).Scan(ctx, &failures)
		if err != nil {
			return notFound(err, "credential link "+id)
		}
		if failures != 1 {
			return nil
		}
		return appendAudit(ctx, tx, events)
	})
}

// DrawCredentialLink stores the link's token (its digest and sealed form)
// and expiry, unless one was drawn before, and returns the link as stored:
// a delivery retried after a crash finds the first token and sends it
// again. A link used or voided meanwhile is returned unchanged (Closed).
func (s *Store) DrawCredentialLink(ctx context.Context, id, digest string, sealed []byte, expiresAt time.Time) (CredentialLink, error) {
	_, err := s.db.NewUpdate().Model((*CredentialLink)(nil)).
		Set("digest = ?", digest).Set("sealed = ?", sealed).Set("expires_at = ?", expiresAt).
		Where("id = ? AND digest IS NULL AND used_at IS NULL AND voided_at IS NULL", id).
		Exec(ctx)
	if err != nil {
		return CredentialLink{}, conflict(err, "credential link "+id+" token")
	}
	return s.GetCredentialLink(ctx, id)
}

// CredentialLinkSent records that the link's message went out, drops the
// sealed token and appends events, once: it reports false (appending
// nothing) when the link was marked sent before or is closed.
func (s *Store) CredentialLinkSent(ctx context.Context, id string, at time.Time, events ...AuditEvent) (bool, error) {
	sent := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*CredentialLink)(nil)).
			Set("sent_at = ?", at).Set("sealed = NULL").
			Where("id = ? AND sent_at IS NULL AND used_at IS NULL AND voided_at IS NULL", id).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("mark credential link %s sent: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		sent = true
		return appendAudit(ctx, tx, events)
	})
	return sent, err
}

// VoidCredentialLink voids an unused link and appends events; false (and
// nothing appended) when it was used or voided already.
func (s *Store) VoidCredentialLink(ctx context.Context, id string, at time.Time, events ...AuditEvent) (bool, error) {
	voided := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*CredentialLink)(nil)).
			Set("voided_at = ?", at).Set("sealed = NULL").
			Where("id = ? AND used_at IS NULL AND voided_at IS NULL", id).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("void credential link %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		voided = true
		return appendAudit(ctx, tx, events)
	})
	return voided, err
}

// PasswordByLink sets a user's password with a link.
type PasswordByLink struct {
	LinkID  string
	Digest  string // the digest of the token presented: the link is used only with its own token
	Purpose string
	UserID  string
	Hash    string // the password's hash; never the password
	At      time.Time
	// Notice, when set, is a notice to the user (purpose LinkNotice)
	// requested in the same transaction: it goes only if the password is set.
	Notice *CredentialLink
}

// SetPasswordByLink uses the link and sets the user's password hash in
// one transaction, with events (and p.Notice): the link works once,
// whoever submits it at the same time. ErrLinkGone, with nothing changed,
// when the link is not live at p.At, or its user's (or account's) email
// and password sign-in is off.
func (s *Store) SetPasswordByLink(ctx context.Context, p PasswordByLink, events ...AuditEvent) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The account's switch first, share-locked on PostgreSQL: turning
		// it off (which deletes every password) waits for this
		// transaction, or this one waits for it and finds it off. Without
		// the lock a password set while the switch goes off could outlive
		// the deletion.
		var accountID string
		err := tx.NewSelect().Model((*User)(nil)).Column("account_id").Where("id = ?", p.UserID).Scan(ctx, &accountID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrLinkGone
		}
		if err != nil {
			return fmt.Errorf("load user %s: %w", p.UserID, err)
		}
		switch err := s.passwordLoginAllowed(ctx, tx, accountID); {
		case errors.Is(err, ErrPasswordLoginOff):
			return ErrLinkGone
		case err != nil:
			return err
		}
		// Claiming the link first makes a concurrent use wait on its row
		// and then find it used.
		res, err := tx.NewUpdate().Model((*CredentialLink)(nil)).
			Set("used_at = ?", p.At).Set("sealed = NULL").
			Where("id = ? AND digest = ? AND purpose = ? AND user_id = ?", p.LinkID, p.Digest, p.Purpose, p.UserID).
			Where("used_at IS NULL AND voided_at IS NULL AND expires_at > ?", p.At).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("use credential link %s: %w", p.LinkID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkGone
		}
		set := tx.NewUpdate().Model((*User)(nil)).
			Set("password_changed_at = CASE WHEN password_hash IS NULL THEN password_changed_at ELSE ? END", p.At).
			Set("password_hash = ?", p.Hash).
			Set("password_set_at = ?", p.At).
			Set("updated_at = ?", p.At)
		if p.Purpose == LinkReset {
			// The mailbox has just stood in for the password: it must not
			// stand in for the authenticator too ("Lost your
			// authenticator? Email me a link" needs a verified address),
			// or whoever reads the mail would need nothing else. Verifying
			// the address again takes a settings session: both factors.
			set = set.Set("email_verified_at = NULL")
		}
		res, err = set.
			Where("id = ? AND email_password_login", p.UserID).
			Where(topSwitch, accountID).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("set password of user %s: %w", p.UserID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkGone
		}
		if err := endSessionsOf(ctx, tx, p.UserID, p.At, ""); err != nil {
			return err
		}
		if n := p.Notice; n != nil {
			if n.Purpose != LinkNotice || n.UserID != p.UserID || n.AccountID != accountID {
				return fmt.Errorf("set password of user %s: the notice is not a notice to this user", p.UserID)
			}
			if _, err := tx.NewInsert().Model(n).Exec(ctx); err != nil {
				return conflict(err, "notice")
			}
		}
		return appendAudit(ctx, tx, events)
	})
}

// ErrLinkLimit refuses a self-service link: the user was sent as many in
// the window as LinkRequest allows.
var ErrLinkLimit = errors.New("too many credential links for this user lately")

// LinkRequest is a link a user asks for themselves ("Forgot password?").
type LinkRequest struct {
	// Link is the link to issue (purpose LinkReset or LinkWelcome); it
	// voids the user's unused links of its purpose.
	Link CredentialLink
	// At most Max links of purposes reset and welcome (whoever asked for
	// them) may have been created for the user since Since; beyond, the
	// request is refused with ErrLinkLimit.
	Since time.Time
	Max   int
}

// RequestLink issues a link a user asked for, with events, in one
// transaction: ErrPasswordLoginOff when the account's or the user's email
// and password sign-in is off (or the user is gone), ErrLinkLimit when
// the user had r.Max links since r.Since. On PostgreSQL the user's row is
// locked while counting, so that concurrent requests cannot all pass one
// count.
func (s *Store) RequestLink(ctx context.Context, r LinkRequest, events ...AuditEvent) error {
	l := r.Link
	if l.Purpose != LinkReset && l.Purpose != LinkWelcome {
		return fmt.Errorf("request a %s link: only reset and welcome links are asked for", l.Purpose)
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.passwordLoginAllowed(ctx, tx, l.AccountID); err != nil {
			return err
		}
		var on bool
		q := tx.NewSelect().Model((*User)(nil)).Column("email_password_login").Where("id = ? AND account_id = ?", l.UserID, l.AccountID)
		if s.postgres {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx, &on); errors.Is(err, sql.ErrNoRows) || (err == nil && !on) {
			return ErrPasswordLoginOff
		} else if err != nil {
			return fmt.Errorf("load user %s: %w", l.UserID, err)
		}
		n, err := tx.NewSelect().Model((*CredentialLink)(nil)).
			Where("user_id = ? AND purpose IN (?)", l.UserID, bun.List([]string{LinkReset, LinkWelcome})).
			Where("created_at > ?", r.Since).
			Count(ctx)
		if err != nil {
			return fmt.Errorf("count recent links of user %s: %w", l.UserID, err)
		}
		if n >= int64(r.Max) {
			return ErrLinkLimit
		}
		if err := issueLinks(ctx, tx, []CredentialLink{l}, l.CreatedAt); err != nil {
			return err
		}
		return appendAudit(ctx, tx, events)
	})
}

// UsersByEmail returns up to limit users of the account whose email
// address is email, compared without regard to case.
func (s *Store) UsersByEmail(ctx context.Context, accountID, email string, limit int) ([]User, error) {
	users := []User{}
	err := s.db.NewSelect().Model(&users).
		Where("account_id = ? AND lower(email) = lower(?)", accountID, email).
		Order("authid").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "users by email")
	}
	return users, nil
}
