package attempt

import (
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238): 30 s steps, 6 digits, SHA-1, one step of
// clock skew either way. The API enrols authenticators with them and
// reads the digits users type; CheckCode verifies with them.
const (
	TOTPPeriod = 30
	TOTPSkew   = 1
	TOTPDigits = otp.DigitsSix
)

// TOTPIssuer is the issuer authenticator apps show next to the account.
const TOTPIssuer = "flexauth"

// TOTPCode is the RFC 6238 code of seed (base32) at t.
func TOTPCode(seed string, t time.Time) (string, error) {
	code, err := totp.GenerateCodeCustom(seed, t, totp.ValidateOpts{
		Period: TOTPPeriod, Skew: 0, Digits: TOTPDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", fmt.Errorf("compute totp code: %w", err)
	}
	return code, nil
}
