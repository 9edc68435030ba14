package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// TokenBytes is the entropy of a link token: 256 bits, well above the 128
// the threat model asks for, so guessing is never the cheapest attack.
const TokenBytes = 32

// NewToken returns a URL-safe random token of TokenBytes bytes.
func NewToken() (string, error) {
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewPIN returns a uniformly random numeric code of the given length.
func NewPIN(digits int) (string, error) {
	if digits < 4 || digits > 18 {
		return "", fmt.Errorf("pin length %d out of range 4..18", digits)
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return "", fmt.Errorf("draw pin: %w", err)
	}
	return fmt.Sprintf("%0*d", digits, n), nil
}

// API key prefixes tell a leaked key's kind at a glance (and let secret
// scanners find them).
const (
	AppKeyPrefix   = "fa_app_"
	AdminKeyPrefix = "fa_admin_"
)

// NewAPIKey returns a fresh API key with the given prefix.
func NewAPIKey(prefix string) (string, error) {
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	return prefix + tok, nil
}

// HashAPIKey returns the stored form of an API key. Keys carry 256 random
// bits, so a fast unkeyed hash is enough: there is nothing to brute-force,
// and lookups by hash stay one indexed read per request.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
	return hex.EncodeToString(sum[:])
}
