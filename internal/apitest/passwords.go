package apitest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/flexauth/flexauth/api"
)

// PasswordRules stand in for flexauth's password rules in tests, so that
// they can see a refusal on the page: a password needs 8 characters, and
// "password123" (a common one) and the user's email are refused. The hash
// is a plain SHA-256, marked as a test's: never use it outside tests.
type PasswordRules struct{}

var _ api.PasswordRules = PasswordRules{}

// The refusals of PasswordRules, as the page shows them.
const (
	RefusedShort  = "Use at least 8 characters."
	RefusedCommon = "This password is one of the most common ones; choose another."
	RefusedEmail  = "Do not use your email address as your password."
)

// Check refuses short, common and email passwords.
func (PasswordRules) Check(plain string, who api.PasswordContext) error {
	switch {
	case utf8.RuneCountInString(plain) < 8:
		return errors.New(RefusedShort)
	case plain == "password123":
		return errors.New(RefusedCommon)
	case who.Email != "" && strings.EqualFold(plain, who.Email):
		return errors.New(RefusedEmail)
	}
	return nil
}

// Hash returns a test hash of plain.
func (PasswordRules) Hash(plain string) (string, error) {
	sum := sha256.Sum256([]byte(plain))
	return "test-sha256$" + hex.EncodeToString(sum[:]), nil
}

// Verify checks plain against a test hash, as activities.Passwords: the
// worker of a test deployment reads what its API stored.
func (PasswordRules) Verify(plain, encoded string) (ok, needsRehash bool, err error) {
	if !strings.HasPrefix(encoded, "test-sha256$") {
		return false, false, errors.New("not a test hash")
	}
	return subtle.ConstantTimeCompare([]byte(TestHash(plain)), []byte(encoded)) == 1, false, nil
}

// TestHash is what Hash stores for plain.
func TestHash(plain string) string {
	h, _ := PasswordRules{}.Hash(plain)
	return h
}

// Rules describes the rules.
func (PasswordRules) Rules() []string {
	return []string{"At least 8 characters.", "Not a common password, and not your email address."}
}
