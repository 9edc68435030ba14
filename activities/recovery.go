package activities

import (
	"context"
	"fmt"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

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
		return attempt.RecoveryDigest(keys, string(plain)), nil
	})
	if err != nil {
		return n, fmt.Errorf("convert recovery codes to digests: %w", err)
	}
	return n, nil
}

var _ RecoveryStore = (*store.Store)(nil)
