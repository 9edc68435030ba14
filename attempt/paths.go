package attempt

import "time"

// Where the API serves the pages a token opens. The activities build the
// links they deliver from the same paths.
const (
	// LinkPath is where a delivered link's token is served.
	LinkPath = "/l/"
	// PagePath is where a hosted page's token is served (password and sso
	// attempts).
	PagePath = "/a/"
	// WelcomePath is where a welcome link's token is served: the page on
	// which the user creates a password.
	WelcomePath = "/w/"
	// ResetPath is where a reset link's token is served: the page on which
	// the user chooses a new password.
	ResetPath = "/r/"
	// VerifyPath is where an email verification link's token is served.
	VerifyPath = "/v/"
	// RecoverPath is where a recover link's token is served: under
	// PagePath, so that the browser sends the cookie that binds the
	// attempt's steps (the link works only in the browser that gave the
	// password).
	RecoverPath = PagePath + "recover/"
	// SSOCallbackPath is where identity providers send the browser back
	// (see sso.go).
	SSOCallbackPath = "/sso/callback"
)

// How long credential links work once drawn.
const (
	// DefaultWelcomeLinkTTL is how long a welcome link works by default.
	DefaultWelcomeLinkTTL = 72 * time.Hour
	// DefaultResetLinkTTL is how long a password reset link works by default.
	DefaultResetLinkTTL = time.Hour
	// VerifyLinkTTL is how long an email verification link works.
	VerifyLinkTTL = 24 * time.Hour
	// RecoverLinkTTL is how long a recover link works.
	RecoverLinkTTL = 15 * time.Minute
)
