package policies

import "time"

// risk.rego states both values too (max_delivered_ttl_seconds, max_attempts);
// TestDefaultPolicyKeepsTheGoLimits fails when they part.
const (
	// MaxDeliveredTTL is the longest life, in seconds, of a secret sent to
	// the user (a link or a PIN), whatever the policy asks for.
	MaxDeliveredTTL = 600
	// DefaultMaxAttempts is how many wrong codes the default policy tolerates
	// on systems that are not highly sensitive.
	DefaultMaxAttempts = 5
)

// Input is what a policy sees. JSON tags are the Rego input field names.
type Input struct {
	Subject Subject `json:"subject"`
	Account Account `json:"account"`
	System  System  `json:"system"`
	Request Request `json:"request"`
	History History `json:"history"`
}

// EmailDeliveryDisabled reports whether the account has turned email off.
// An input with only the deprecated email_login is read by it.
func (a Account) EmailDeliveryDisabled() bool {
	if a.EmailDelivery != nil {
		return !*a.EmailDelivery
	}
	return a.EmailLogin != nil && !*a.EmailLogin
}

// Subject is the user signing in.
type Subject struct {
	Account      string `json:"account"` // account id
	AuthID       string `json:"authid"`
	Assigned     string `json:"assigned_method"` // the method the admin assigned: passwordless|pin|totp
	TOTPEnrolled bool   `json:"totp_enrolled"`
	HasEmail     bool   `json:"has_email"`
	HasPhone     bool   `json:"has_phone"`
	// PasswordLogin is true when both the account's and the user's email
	// and password switches are on; HasPassword when the user has set one.
	PasswordLogin bool `json:"password_login"`
	HasPassword   bool `json:"has_password"`
	// From the directory (an identity plugin), when one is configured:
	// whether it knows the user, their groups and other attributes.
	InDirectory bool              `json:"in_directory"`
	Groups      []string          `json:"groups"`
	Attributes  map[string]string `json:"attributes"`
}

// Account is the settings of the user's account that bear on sign-in.
type Account struct {
	ID string `json:"id"`
	// EmailDelivery is false when the account has turned email off: no
	// link or code may go to its users by email (delivered methods go by
	// SMS, or are denied to users without a phone). Nil, in an input built
	// without the account's settings, reads as on, as the column's
	// default does: a zero Input must not turn email off.
	EmailDelivery *bool `json:"email_delivery,omitempty"`
	// EmailLogin is EmailDelivery under its name before issue 9, with the
	// same value, for uploaded policies written before the rename.
	//
	// Deprecated: read email_delivery.
	EmailLogin *bool `json:"email_login,omitempty"`
}

// AccountOf is the account part of a policy input for an account with
// these settings: email delivery under its name and its deprecated one.
func AccountOf(id string, emailDelivery bool) Account {
	return Account{ID: id, EmailDelivery: &emailDelivery, EmailLogin: &emailDelivery}
}

// System is the protected system the user signs in to.
type System struct {
	Name        string   `json:"name"`
	Methods     []string `json:"methods"`     // enabled methods
	Sensitivity string   `json:"sensitivity"` // low|medium|high
	TTLSeconds  int      `json:"ttl_seconds"`
}

// Request describes the sign-in request itself.
type Request struct {
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Time      time.Time `json:"time"` // encoded RFC 3339
}

// History summarises the user's earlier sign-ins.
type History struct {
	// RecentFailures is the run of consecutive wrong codes with the
	// assigned method's factor, across attempts and systems: only a success
	// with that factor or an administrator ends it.
	RecentFailures int        `json:"recent_failures"`
	LastIP         string     `json:"last_ip"`
	LastLoginAt    *time.Time `json:"last_login_at,omitempty"`
	LoginCount     int        `json:"login_count"`
	NewIP          bool       `json:"new_ip"` // request IP never seen in a successful sign-in of this user
	// Factors holds the runs of failures by factor (pin, totp, recovery,
	// sso); LockedFactors names those locked now. A locked factor is
	// refused by the engine whatever the policy decides.
	Factors       map[string]Factor `json:"factors"`
	LockedFactors []string          `json:"locked_factors"`
}

// Factor is the state of one of the user's guessable factors.
type Factor struct {
	Failures int  `json:"failures"`
	Locked   bool `json:"locked"`
}

// Decision is a policy's answer for one login attempt.
type Decision struct {
	Allow       bool     `json:"allow"`
	Method      string   `json:"method"`
	TTLSeconds  int      `json:"ttl_seconds"`
	MaxAttempts int      `json:"max_attempts"`
	Reasons     []string `json:"reasons"`
	Risk        string   `json:"risk"` // low|medium|high
	// Channel is where a delivered secret goes: "email" or "sms"; "" lets
	// flexauth choose from the user's contact data (TOTP delivers nothing).
	Channel string `json:"channel,omitempty"`
}
