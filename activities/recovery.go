package activities

import (
	"context"
	"fmt"

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
