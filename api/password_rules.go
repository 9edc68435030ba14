package api

import (
	"fmt"

	"github.com/flexauth/flexauth/password"
)

// PasswordContext is who a password is chosen for: the rules refuse a
// password made of the user's email, name or the account's name.
type PasswordContext struct {
	Email   string
	Name    string
	Account string // the account's (organisation's) name
}

// PasswordRules judge and hash the passwords users choose on the pages
// flexauth hosts (welcome, reset, change in the security settings). The
// API never stores, logs or compares a password itself: only Hash's
// result is stored, and Verify compares.
type PasswordRules interface {
	// Check says why plain cannot be who's password, in words for the
	// user (the page shows the error's text); nil when it can.
	Check(plain string, who PasswordContext) error
	// Hash returns the encoded hash of plain, to store.
	Hash(plain string) (string, error)
	// Rules describes the rules in plain words, one sentence each, for
	// the page that asks for a password.
	Rules() []string
	// Verify reports whether plain is the password encoded hashes, in
	// constant time (the security settings check the current password
	// before changing it). needsRehash is unused there.
	Verify(plain, encoded string) (ok, needsRehash bool, err error)
}

// defaultPasswordRules are flexauth's rules (package password): argon2id
// with OWASP's parameters, NFKC, at least 8 characters, the blocklist and
// the user's own data refused.
func defaultPasswordRules() PasswordRules { return passwordPackage{} }

// passwordPackage adapts package password to PasswordRules.
type passwordPackage struct{}

func (passwordPackage) Check(plain string, who PasswordContext) error {
	return password.Check(plain, password.Owner{Email: who.Email, Name: who.Name, Account: who.Account})
}

func (passwordPackage) Hash(plain string) (string, error) { return password.Hash(plain) }

func (passwordPackage) Verify(plain, encoded string) (bool, bool, error) {
	return password.Verify(plain, encoded)
}

func (passwordPackage) Rules() []string {
	return []string{
		fmt.Sprintf("At least %d characters; any characters, spaces included, and no rules about mixing them.", password.MinLength),
		"Not a common or breached password, and not made of your email address, your name or your organisation's name.",
		"Sign-in always asks for a code from your authenticator app as well.",
	}
}
