package password

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	// MinLength is the fewest code points a password may have after
	// normalisation. Eight is NIST SP 800-63B's floor for a password used
	// with a second factor, and email-and-password sign-in always asks for
	// TOTP too.
	MinLength = 8

	// MaxBytes is the longest a password may be, in bytes of its normalised
	// UTF-8 form: 1024 ASCII characters, and never fewer than 256 code
	// points in any script. It is far above what anyone types (at least 64
	// characters must be accepted) and exists only to bound the work of
	// normalising, checking and hashing what a client sends.
	MaxBytes = 1024

	// maxRawBytes bounds the input before normalisation, which can shrink
	// text (a 4-byte mathematical letter becomes 1 ASCII byte) but not below
	// a quarter, so nothing longer can normalise to MaxBytes or fewer, and
	// refusing it early keeps normalisation cheap.
	maxRawBytes = 4 * MaxBytes
)

// normalize returns the form of plain that is measured, checked and hashed:
// NFKC, nothing removed, nothing trimmed. It refuses text that is not UTF-8
// (NFKC is only defined on text) and text over MaxBytes.
func normalize(plain string) (string, error) {
	if !utf8.ValidString(plain) {
		return "", ErrNotText
	}
	if len(plain) > maxRawBytes {
		return "", ErrTooLong
	}
	n := norm.NFKC.String(plain)
	if len(n) > MaxBytes {
		return "", ErrTooLong
	}
	return n, nil
}

// fold is the form compared with the blocklist and the owner's data: the
// normalised text in lower case. mkblocklist.go folds the list the same way.
func fold(normalized string) string {
	return strings.ToLower(normalized)
}
