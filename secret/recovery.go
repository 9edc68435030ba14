package secret

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// Recovery codes stand in for a TOTP code when the authenticator is lost.
// They are read off paper and typed by hand, so the alphabet leaves out
// characters that look alike (0/O, 1/I).
const (
	RecoveryAlphabet   = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	RecoveryCodeLength = 10
)

// NewRecoveryCode returns a random code shown as XXXXX-XXXXX (50 bits).
func NewRecoveryCode() (string, error) {
	b := make([]byte, RecoveryCodeLength)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random recovery code: %w", err)
	}
	// 32 symbols divide 256 evenly, so the modulo is unbiased.
	for i := range b {
		b[i] = RecoveryAlphabet[int(b[i])%len(RecoveryAlphabet)]
	}
	half := RecoveryCodeLength / 2
	return string(b[:half]) + "-" + string(b[half:]), nil
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
	if len(code) != RecoveryCodeLength {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if !strings.ContainsRune(RecoveryAlphabet, rune(code[i])) {
			return "", false
		}
	}
	return code, true
}
