package attempt

// Verification methods a policy may choose (package policies validates its
// decisions against them; spreadsheets and the admin API assign them).
const (
	MethodPasswordless = "passwordless"
	MethodPIN          = "pin"
	MethodTOTP         = "totp"
	// MethodSSO delivers a link that sends the user to the account's OpenID
	// Connect provider (Entra ID, Google...); the provider's answer, bound
	// to the user, completes the attempt (see sso.go for the round trip).
	MethodSSO = "sso"
	// MethodPassword signs the user in on a page flexauth hosts, with the
	// password and then a TOTP code (or a recovery code); a user without
	// an authenticator enrols one there first. It delivers nothing: start
	// answers the page's URL.
	MethodPassword = "password"
)

// Methods are the verification methods, in the order the APIs list them.
func Methods() []string {
	return []string{MethodPasswordless, MethodPIN, MethodTOTP, MethodSSO, MethodPassword}
}

// Hosted reports whether method signs the user in on a page flexauth
// hosts whose URL start answers.
func Hosted(method string) bool {
	return method == MethodPassword || method == MethodSSO
}

// Delivered reports whether method sends the user a secret (a link or a
// PIN) by email or SMS.
func Delivered(method string) bool {
	return method == MethodPasswordless || method == MethodPIN || method == MethodSSO
}

// Factors that can be guessed, as the store spells them (package store
// names them after these). Each has its own consecutive-failure count, so
// that guessing one locks that one.
const (
	FactorPIN      = "pin"
	FactorTOTP     = "totp"
	FactorRecovery = "recovery" // TOTP recovery codes, which a TOTP attempt takes beside TOTP codes
	FactorSSO      = "sso"
	FactorPassword = "password"
)

// MethodFactor is the factor whose failures a method's codes count
// against: pin, totp (whose attempts also take recovery codes), sso,
// password; "" for a link, which cannot be guessed.
func MethodFactor(method string) string {
	switch method {
	case MethodPIN:
		return FactorPIN
	case MethodTOTP:
		return FactorTOTP
	case MethodSSO:
		return FactorSSO
	case MethodPassword:
		return FactorPassword
	}
	return ""
}
