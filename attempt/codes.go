package attempt

import (
	"encoding/json"
	"fmt"

	"github.com/flexauth/flexauth/secret"
)

// Secrets never reach a workflow's history in clear: what users submit is
// digested by the API with the keyring, what the activities draw is stored
// sealed or as a digest, and both sides meet here so that their digests
// agree. Each use of the keyring has a purpose of its own.
const (
	PurposeLink           = "link"            // a delivered link's token; the attempt row is found by it
	PurposeCode           = "code"            // a PIN, TOTP or recovery code submitted for an attempt
	PurposePage           = "page"            // a hosted page's URL token
	PurposeBrowser        = "browser"         // the cookie binding a password attempt's later steps to one browser
	PurposeCredentialLink = "credential-link" // a credential link's token (welcome, reset, verify, recover)
	PurposeSSOState       = "sso-state"       // a sign-on callback's state parameter (sso.go)
	PurposeSSOBrowser     = "sso-browser"     // the cookie tying a sign-on callback to the browser that asked for it (sso.go)
	purposeRecovery       = "recovery-code"   // a stored recovery code
)

// CodeDigest is the digest of a PIN or TOTP code submitted for an attempt.
func CodeDigest(keys *secret.Keyring, attemptID, code string) string {
	return keys.Digest(PurposeCode, attemptID, code)
}

// LinkDigest is the digest of a link token; the attempt row is found by it.
func LinkDigest(keys *secret.Keyring, token string) string {
	return keys.Digest(PurposeLink, token)
}

// PageDigest is the digest of a hosted page's token; the attempt row is
// found by it.
func PageDigest(keys *secret.Keyring, token string) string {
	return keys.Digest(PurposePage, token)
}

// BrowserDigest is the digest of a browser binding cookie, bound to its
// attempt.
func BrowserDigest(keys *secret.Keyring, attemptID, cookie string) string {
	return keys.Digest(PurposeBrowser, attemptID, cookie)
}

// CredentialLinkDigest is the digest of a credential link's token; the
// link is found by it.
func CredentialLinkDigest(keys *secret.Keyring, token string) string {
	return keys.Digest(PurposeCredentialLink, token)
}

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

// RecoveryCodeCount is how many codes a set holds.
const RecoveryCodeCount = 10

// DrawRecoveryCodes draws a set of recovery codes with crypto/rand: in
// clear, to be shown once, and their keyed digests, which are all that is
// stored (store.NewRecoveryCodes makes the rows). Every path that makes a
// set (enrolment at sign-in, an administrator, the user's security
// settings) draws it here.
func DrawRecoveryCodes(keys *secret.Keyring) (shown, digests []string, err error) {
	shown = make([]string, RecoveryCodeCount)
	digests = make([]string, RecoveryCodeCount)
	for i := range shown {
		code, err := secret.NewRecoveryCode()
		if err != nil {
			return nil, nil, fmt.Errorf("draw recovery code: %w", err)
		}
		canonical, _ := secret.NormalizeRecoveryCode(code)
		shown[i], digests[i] = code, RecoveryDigest(keys, canonical)
	}
	return shown, digests, nil
}

// Attempt secrets are kept sealed on the attempt (store.AttemptSecret)
// under a key, between the API that receives them and the activity that
// uses them.
const (
	// SecretRecoveryCodes holds the recovery codes drawn at enrolment until
	// the page shows them, once.
	SecretRecoveryCodes = "recovery-codes"
)

// SecretAAD is the associated data an attempt secret is sealed with: it
// cannot be opened as another attempt's, or under another key.
func SecretAAD(attemptID, key string) string { return "attempt-secret:" + attemptID + ":" + key }

// PasswordSecretKey is the attempt secret key of a password announced by
// the workflow update updateID.
func PasswordSecretKey(updateID string) string { return "password:" + updateID }

// SealRecoveryCodes seals the recovery codes drawn at an attempt's
// enrolment for one display (SecretRecoveryCodes).
func SealRecoveryCodes(keys *secret.Keyring, attemptID string, shown []string) ([]byte, error) {
	raw, err := json.Marshal(shown)
	if err != nil {
		return nil, fmt.Errorf("encode recovery codes: %w", err)
	}
	sealed, err := keys.Seal(raw, SecretAAD(attemptID, SecretRecoveryCodes))
	if err != nil {
		return nil, fmt.Errorf("seal recovery codes: %w", err)
	}
	return sealed, nil
}

// OpenRecoveryCodes opens the recovery codes kept for one display.
func OpenRecoveryCodes(keys *secret.Keyring, attemptID string, sealed []byte) ([]string, error) {
	raw, err := keys.Open(sealed, SecretAAD(attemptID, SecretRecoveryCodes))
	if err != nil {
		return nil, fmt.Errorf("open recovery codes: %w", err)
	}
	var codes []string
	if err := json.Unmarshal(raw, &codes); err != nil {
		return nil, fmt.Errorf("decode recovery codes: %w", err)
	}
	return codes, nil
}
