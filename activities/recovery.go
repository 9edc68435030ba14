package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// purposeRecovery separates recovery-code digests from every other use
// of the keyring.
const purposeRecovery = "recovery-code"

// RecoveryDigest is the keyed digest a recovery code is stored as, from
// its canonical form (secret.NormalizeRecoveryCode). A submitted recovery
// code reaches the workflow as CodeDigest(attempt, RecoveryDigest(code)),
// which CheckCode compares with the stored digests bound the same way.
func RecoveryDigest(keys *secret.Keyring, canonical string) string {
	return keys.Digest(purposeRecovery, canonical)
}

// RecoveryCodeCount is how many codes a set holds.
const RecoveryCodeCount = 10

// DrawRecoveryCodes draws a set of recovery codes for a user with
// crypto/rand: in clear, to be shown once, and as the rows to store, which
// hold only their keyed digests. Every path that makes a set (enrolment at
// sign-in, an administrator, the user's security settings) draws it here.
func DrawRecoveryCodes(keys *secret.Keyring, userID string, now time.Time) ([]string, []store.RecoveryCode, error) {
	shown := make([]string, RecoveryCodeCount)
	rows := make([]store.RecoveryCode, RecoveryCodeCount)
	for i := range rows {
		code, err := secret.NewRecoveryCode()
		if err != nil {
			return nil, nil, fmt.Errorf("draw recovery code: %w", err)
		}
		canonical, _ := secret.NormalizeRecoveryCode(code)
		shown[i] = code
		rows[i] = store.RecoveryCode{ID: uuid.NewString(), UserID: userID, Digest: RecoveryDigest(keys, canonical), CreatedAt: now}
	}
	return shown, rows, nil
}

// PreviousRecoveryDigests are RecoveryDigest under the previous master
// keys of a rotation: codes stored before it keep working.
func PreviousRecoveryDigests(keys *secret.Keyring, canonical string) []string {
	return keys.PreviousDigests(purposeRecovery, canonical)
}

// RecoveryStore is what ConvertRecoveryCodes needs.
type RecoveryStore interface {
	ConvertSealedRecoveryCodes(ctx context.Context, digest func(userID string, sealed []byte) (string, error)) (int, error)
}

// ConvertRecoveryCodes replaces recovery codes stored sealed (by earlier
// versions) with their digests. Workers run it at start, before they take
// any attempt; it is idempotent.
func ConvertRecoveryCodes(ctx context.Context, st RecoveryStore, keys *secret.Keyring) (int, error) {
	n, err := st.ConvertSealedRecoveryCodes(ctx, func(userID string, sealed []byte) (string, error) {
		plain, err := keys.Open(sealed, userID)
		if err != nil {
			return "", fmt.Errorf("open sealed recovery code: %w", err)
		}
		return RecoveryDigest(keys, string(plain)), nil
	})
	if err != nil {
		return n, fmt.Errorf("convert recovery codes to digests: %w", err)
	}
	return n, nil
}

var _ RecoveryStore = (*store.Store)(nil)
