package secret

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// Recovery codes stand in for a TOTP code when the authenticator is lost.
// They are read off paper and typed by hand, so the alphabet leaves out
// characters that look alike (0/O, 1/I). 15 symbols of 32 carry 75 bits,
// above the 64 that a secret guessed offline from a leaked digest needs.
const (
	RecoveryAlphabet   = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	RecoveryCodeLength = 15
	// legacyRecoveryCodeLength is the 50-bit codes of earlier versions,
	// still accepted until they are used or replaced.
	legacyRecoveryCodeLength = 10
	recoveryGroup            = 5
)

// NewRecoveryCode returns a random code shown as XXXXX-XXXXX-XXXXX.
func NewRecoveryCode() (string, error) {
	b := make([]byte, RecoveryCodeLength)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random recovery code: %w", err)
	}
	// 32 symbols divide 256 evenly, so the modulo is unbiased.
	for i := range b {
		b[i] = RecoveryAlphabet[int(b[i])%len(RecoveryAlphabet)]
	}
	groups := make([]string, 0, RecoveryCodeLength/recoveryGroup)
	for i := 0; i < len(b); i += recoveryGroup {
		groups = append(groups, string(b[i:i+recoveryGroup]))
	}
	return strings.Join(groups, "-"), nil
}

// NormalizeRecoveryCode turns a typed code into its canonical form: upper
// case, without dashes or spaces. ok is false when the result cannot be a
// recovery code.
func NormalizeRecoveryCode(typed string) (code string, ok bool) {
	code = strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(typed))
	if len(code) != RecoveryCodeLength && len(code) != legacyRecoveryCodeLength {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if !strings.ContainsRune(RecoveryAlphabet, rune(code[i])) {
			return "", false
		}
	}
	return code, true
}
