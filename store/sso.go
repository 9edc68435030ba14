package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// SetSSOAuthorization records a pending attempt's sign-on request: the
// digest of its state parameter and its sealed nonce and PKCE verifier. A
// new request replaces the previous one, whose state then finds nothing.
// It reports false when the attempt is no longer pending.
func (s *Store) SetSSOAuthorization(ctx context.Context, id, stateDigest string, sealed []byte) (bool, error) {
	res, err := s.db.NewUpdate().Model((*Attempt)(nil)).
		Set("sso_state_digest = ?", stateDigest).Set("sso_sealed = ?", sealed).
		Where("id = ? AND state = ?", id, AttemptPending).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record sign-on request of attempt %s: %w", id, conflict(err, "sso state"))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AttemptBySSOState finds the attempt a provider's callback belongs to.
func (s *Store) AttemptBySSOState(ctx context.Context, stateDigest string) (Attempt, error) {
	var a Attempt
	if err := s.db.NewSelect().Model(&a).Where("sso_state_digest = ?", stateDigest).Scan(ctx); err != nil {
		return Attempt{}, notFound(err, "attempt")
	}
	return a, nil
}

// ConsumeSSOState uses up a callback's state and stores the sealed sign-on
// (now holding the authorization code) in its place. Only one callback per
// state gets true: a replayed state finds nothing.
func (s *Store) ConsumeSSOState(ctx context.Context, id, stateDigest string, sealed []byte) (bool, error) {
	res, err := s.db.NewUpdate().Model((*Attempt)(nil)).
		Set("sso_state_digest = NULL").Set("sso_sealed = ?", sealed).
		Where("id = ? AND sso_state_digest = ? AND state = ?", id, stateDigest, AttemptPending).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("consume sign-on state of attempt %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ClearSSOSealed forgets an attempt's sign-on once its code is redeemed
// (or refused), so the code is never tried twice.
func (s *Store) ClearSSOSealed(ctx context.Context, id string) error {
	_, err := s.db.NewUpdate().Model((*Attempt)(nil)).Set("sso_sealed = NULL").Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("clear sign-on of attempt %s: %w", id, err)
	}
	return nil
}

// BindSSO binds a provider identity to a user who has none yet, with its
// audit events. It reports false when the user already has one; ErrConflict
// when the identity is bound to another user of the account.
func (s *Store) BindSSO(ctx context.Context, userID, issuer, subject string, events ...AuditEvent) (bool, error) {
	bound := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*User)(nil)).
			Set("sso_issuer = ?", issuer).Set("sso_subject = ?", subject).
			Where("id = ? AND sso_subject = ''", userID).
			Exec(ctx)
		if err != nil {
			return conflict(err, "sso identity")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		bound = true
		return appendAudit(ctx, tx, events)
	})
	if err != nil {
		return false, fmt.Errorf("bind sign-on identity to user %s: %w", userID, err)
	}
	return bound, nil
}

// SetSSOIdentity binds a provider identity to a user, replacing any bound
// before: an administrator's approval, which needs no sign-on. ErrConflict
// when the identity is bound to another user of the account; ErrNotFound
// when the user is gone.
func (s *Store) SetSSOIdentity(ctx context.Context, userID, issuer, subject string, at time.Time, events ...AuditEvent) error {
	err := s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		q := db.NewUpdate().Model((*User)(nil)).
			Set("sso_issuer = ?", issuer).Set("sso_subject = ?", subject).Set("updated_at = ?", at).
			Where("id = ?", userID)
		// The directory profile was another identity's unless the same
		// one is approved again. (Every SET reads the row as it was.)
		same := "sso_issuer = ? AND sso_subject = ?"
		q = q.Set("sso_provider = CASE WHEN "+same+" THEN sso_provider ELSE '' END", issuer, subject).
			Set("sso_position = CASE WHEN "+same+" THEN sso_position ELSE '' END", issuer, subject).
			Set("sso_phone = CASE WHEN "+same+" THEN sso_phone ELSE '' END", issuer, subject).
			Set("sso_profile_at = CASE WHEN "+same+" THEN sso_profile_at ELSE NULL END", issuer, subject)
		res, err := q.Exec(ctx)
		if err != nil {
			return conflict(err, "sso identity")
		}
		return affected(res, nil, "user")
	})
	if err != nil {
		return fmt.Errorf("bind sign-on identity to user %s: %w", userID, err)
	}
	return nil
}

// ClearSSOIdentity unbinds a user's provider identity, so that their next
// single sign-on is a first one again. It reports false (and records no
// event) when none was bound.
func (s *Store) ClearSSOIdentity(ctx context.Context, userID string, at time.Time, events ...AuditEvent) (bool, error) {
	cleared := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*User)(nil)).
			Set("sso_issuer = ''").Set("sso_subject = ''").Set("updated_at = ?", at).
			Set("sso_provider = ''").Set("sso_position = ''").Set("sso_phone = ''").Set("sso_profile_at = NULL").
			Where("id = ? AND sso_subject <> ''", userID).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		cleared = true
		return appendAudit(ctx, tx, events)
	})
	if err != nil {
		return false, fmt.Errorf("unbind sign-on identity of user %s: %w", userID, err)
	}
	return cleared, nil
}

// SSOProfile is what a sign-on reported about the user beyond who they
// are.
type SSOProfile struct {
	// Provider is the provider kind ("entra", "google"); "" leaves the one
	// stored (a plugin that does not say).
	Provider string
	// Read is true when the plugin read the directory at this sign-on:
	// Position and Phone then replace the stored ones, "" included. False
	// leaves them as they were (the directory failed, or the plugin reads
	// none).
	Read            bool
	Position, Phone string
}

// RecordSSOProfile stores what a single sign-on of the identity (issuer,
// subject) reported, on the user it is bound to. It changes nothing (and
// reports false) when the user no longer has that identity: an
// administrator unbound or replaced it meanwhile.
func (s *Store) RecordSSOProfile(ctx context.Context, userID, issuer, subject string, p SSOProfile, at time.Time) (bool, error) {
	if p.Provider == "" && !p.Read {
		return false, nil
	}
	q := s.db.NewUpdate().Model((*User)(nil)).
		Where("id = ? AND sso_issuer = ? AND sso_subject = ? AND sso_subject <> ''", userID, issuer, subject)
	if p.Provider != "" {
		q = q.Set("sso_provider = ?", p.Provider)
	}
	if p.Read {
		q = q.Set("sso_position = ?", p.Position).Set("sso_phone = ?", p.Phone).Set("sso_profile_at = ?", at)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record sign-on profile of user %s: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
