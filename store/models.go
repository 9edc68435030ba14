package store

import (
	"time"

	"github.com/uptrace/bun"
)

// Account is a tenant. ParentID makes it a sub-organisation.
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	ID        string    `bun:"id,pk"`
	Name      string    `bun:"name,notnull"`
	ParentID  string    `bun:"parent_id,nullzero"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	// EmailDelivery is false when the account has turned email off:
	// nothing is sent to its users by email (named email_login before).
	// The column defaults to true, and so does an insert: bun writes
	// DEFAULT for a zero value of a field with a default, so CreateAccount
	// with EmailDelivery unset (false) makes an account with email
	// delivery on. It is turned off only by UpdateAccountSettings, which
	// audits the change.
	EmailDelivery bool `bun:"email_delivery,notnull,default:true"`
	// EmailPasswordLogin is the organisation's switch for sign-in with
	// email and password: off by default; while it is off no user's
	// switch can be turned on. It is set at the top organisation for its
	// whole tree: GetAccount loads the top's value (the effective one),
	// and a sub-organisation's own column is never read.
	EmailPasswordLogin bool `bun:"email_password_login,notnull"`
	// TopID and TopName name the account's top organisation, the root of
	// its tree (the account itself when it has no parent), whose switch
	// applies. Only GetAccount fills them.
	TopID   string `bun:"top_id,scanonly"`
	TopName string `bun:"top_name,scanonly"`
}

// API key scopes.
const (
	ScopeApp   = "app"
	ScopeAdmin = "admin"
)

// APIKey is stored only as a hash; the key itself is shown once.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         string     `bun:"id,pk"`
	AccountID  string     `bun:"account_id,notnull"`
	Name       string     `bun:"name,notnull"`
	Scope      string     `bun:"scope,notnull"`
	Hash       string     `bun:"hash,notnull"`
	CreatedAt  time.Time  `bun:"created_at,notnull"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
}

// System is anything a user wants to access.
type System struct {
	bun.BaseModel `bun:"table:systems"`

	ID          string   `bun:"id,pk"`
	AccountID   string   `bun:"account_id,notnull"`
	Name        string   `bun:"name,notnull"`
	Methods     []string `bun:"methods,notnull"`
	Sensitivity string   `bun:"sensitivity,notnull"`
	TTLSeconds  int      `bun:"ttl_seconds,notnull"`
	// ReturnURL is where the pages flexauth hosts send the user when a
	// sign-in is done ("" for none).
	ReturnURL string    `bun:"return_url,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// User statuses.
const (
	UserActive   = "active"
	UserDisabled = "disabled"
)

// User is an application's user, known by AuthID within its account.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID        string `bun:"id,pk"`
	AccountID string `bun:"account_id,notnull"`
	AuthID    string `bun:"authid,notnull"`
	Name      string `bun:"name,notnull"`
	Email     string `bun:"email,notnull"`
	Phone     string `bun:"phone,notnull"`
	Status    string `bun:"status,notnull"`

	// TOTPSecret and TOTPPending are sealed with the user's ID as associated
	// data; TOTPLastStep is the last time step accepted, so a code is used once.
	TOTPSecret   []byte `bun:"totp_secret"`
	TOTPPending  []byte `bun:"totp_pending"`
	TOTPEnabled  bool   `bun:"totp_enabled,notnull"`
	TOTPLastStep int64  `bun:"totp_last_step,notnull"`
	// TOTPEnabledAt is when the active authenticator was enrolled (nil
	// for none, or one enrolled before it was recorded); TwoFactorResetAt
	// when the second factor was last reset, by anyone.
	TOTPEnabledAt    *time.Time `bun:"totp_enabled_at"`
	TwoFactorResetAt *time.Time `bun:"two_factor_reset_at"`
	// EmailVerifiedAt is when a link sent to Email proved the address: it
	// is then a way back in, once (see LinkRecover). A new address, or
	// that one use, clears it.
	EmailVerifiedAt *time.Time `bun:"email_verified_at"`

	// SSOIssuer and SSOSubject are the OpenID Connect identity bound to
	// the user at their first single sign-on; later sign-ons must match.
	SSOIssuer  string `bun:"sso_issuer,notnull"`
	SSOSubject string `bun:"sso_subject,notnull"`
	// SSOProvider is the provider kind ("entra", "google") the sign-on
	// plugin reported at the last single sign-on; SSOPosition and SSOPhone
	// the user's job title and phone in the provider's directory, read at
	// SSOProfileAt. All belong to the bound identity (see RecordSSOProfile).
	SSOProvider  string     `bun:"sso_provider,notnull"`
	SSOPosition  string     `bun:"sso_position,notnull"`
	SSOPhone     string     `bun:"sso_phone,notnull"`
	SSOProfileAt *time.Time `bun:"sso_profile_at"`

	// EmailPasswordLogin is the user's switch for sign-in with email and
	// password; it can be turned on only while the account's is on.
	// PasswordHash is the only form of the password ever stored (never
	// shown by the admin API); "" until the user creates one.
	EmailPasswordLogin bool       `bun:"email_password_login,notnull"`
	PasswordHash       string     `bun:"password_hash,nullzero"`
	PasswordSetAt      *time.Time `bun:"password_set_at"`     // when the current password was set
	PasswordChangedAt  *time.Time `bun:"password_changed_at"` // when a password replaced another; nil until then

	// failed_count and last_failure_at, the user-wide failure count of
	// earlier versions, are left in the table unused: FactorLock replaced them.
	LastLoginAt *time.Time `bun:"last_login_at"`
	LoginCount  int        `bun:"login_count,notnull"`
	LastIP      string     `bun:"last_ip,notnull"`

	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// Assignment gives a user a system with one method.
type Assignment struct {
	bun.BaseModel `bun:"table:assignments"`

	UserID   string `bun:"user_id,pk"`
	SystemID string `bun:"system_id,pk"`
	Method   string `bun:"method,notnull"`
}

// AssignedSystem is an assignment as the admin API shows it.
type AssignedSystem struct {
	System string `bun:"system" json:"system"`
	Method string `bun:"method" json:"method"`
}

// UserIP remembers the addresses a user has signed in from.
type UserIP struct {
	bun.BaseModel `bun:"table:user_ips"`

	UserID    string    `bun:"user_id,pk"`
	IP        string    `bun:"ip,pk"`
	FirstSeen time.Time `bun:"first_seen,notnull"`
	LastSeen  time.Time `bun:"last_seen,notnull"`
}

// Attempt states, as published by the attempt workflow.
const (
	AttemptPending       = "pending"
	AttemptAuthenticated = "authenticated"
	AttemptExpired       = "expired"
	AttemptLocked        = "locked"
	AttemptDenied        = "denied"
	AttemptCancelled     = "cancelled"
)

// Terminal reports whether an attempt in state s can no longer change.
func Terminal(s string) bool { return s != AttemptPending }

// Attempt is the read model of one attempt workflow: check answers from it.
// System and AuthID are the strings the application sent, so attempts for
// unknown systems or users are recorded too.
type Attempt struct {
	bun.BaseModel `bun:"table:attempts"`

	ID         string `bun:"id,pk"`
	AccountID  string `bun:"account_id,notnull"`
	System     string `bun:"system,notnull"`
	AuthID     string `bun:"authid,notnull"`
	WorkflowID string `bun:"workflow_id,notnull"`
	RunID      string `bun:"run_id,notnull"`
	State      string `bun:"state,notnull"`
	Method     string `bun:"method,notnull"`
	LinkDigest string `bun:"link_digest,nullzero"`
	Challenge  []byte `bun:"challenge"` // the sealed secret while it awaits delivery, so retries resend the same one
	// SSOStateDigest finds the attempt from a provider's callback, once;
	// SSOSealed holds the sign-on's nonce, PKCE verifier and, after the
	// callback, the authorization code, sealed with the attempt ID.
	SSOStateDigest string `bun:"sso_state_digest,nullzero"`
	SSOSealed      []byte `bun:"sso_sealed"`
	// PageDigest finds a password or sso attempt from the page URL that
	// start answered; Step is where a password attempt stands (see the
	// Step constants) and BrowserDigest binds its later steps to the
	// browser that gave the right password.
	PageDigest    string     `bun:"page_digest,nullzero"`
	Step          string     `bun:"step,notnull"`
	BrowserDigest string     `bun:"browser_digest,nullzero"`
	IP            string     `bun:"ip,notnull"`
	UserAgent     string     `bun:"user_agent,notnull"`
	StartedAt     time.Time  `bun:"started_at,notnull"`
	ExpiresAt     *time.Time `bun:"expires_at"`
	CompletedAt   *time.Time `bun:"completed_at"`
	UpdatedAt     time.Time  `bun:"updated_at,notnull"`
}

// AuditEvent is one append-only entry of the audit trail.
type AuditEvent struct {
	bun.BaseModel `bun:"table:audit_events"`

	ID        int64          `bun:"id,pk,autoincrement" json:"id"`
	AccountID string         `bun:"account_id,notnull" json:"organisation"`
	Time      time.Time      `bun:"at,notnull" json:"time"`
	Type      string         `bun:"type,notnull" json:"type"`
	System    string         `bun:"system,notnull" json:"system"`
	AuthID    string         `bun:"authid,notnull" json:"authid"`
	AttemptID string         `bun:"attempt_id,notnull" json:"attempt,omitempty"`
	IP        string         `bun:"ip,notnull" json:"ip"`
	Reasons   []string       `bun:"reasons" json:"reasons"`
	Detail    map[string]any `bun:"detail" json:"detail,omitempty"`
}
