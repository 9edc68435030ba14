package apitest

import "encoding/json"

// The answers of flexauth's HTTP API as api/openapi.json documents them,
// for the api and e2e tests to decode into with Decode, AdminAs and
// ExpectAs. They are the tests' own copies of the contract, deliberately
// not the api package's response structs: Decode refuses a field a type
// does not declare, so a renamed json tag or an undocumented field fails
// the test that reads it, and a field the API stops sending reads as zero
// where the test asserts it. Each type is the schema of the same name
// under components/schemas; a nested object is named for its schema and
// field. A nullable field, or one the contract says is sometimes absent
// and a test checks, is a pointer (nil for null or absent); a field the
// contract leaves free-form (an audit event's detail, a policy input) is
// a map or raw JSON.

// PolicyActive is Policy's active.
type PolicyActive struct {
	Version       int     `json:"version"`
	CreatedAt     *string `json:"created_at"`
	CreatedBy     string  `json:"created_by"`
	Builtin       bool    `json:"builtin"`
	Rego          string  `json:"rego"`
	Tests         string  `json:"tests"`
	InheritedFrom *string `json:"inherited_from"` // absent when the policy is the organisation's own
}

// PolicyVersion is Policy's versions.
type PolicyVersion struct {
	Version   int     `json:"version"`
	CreatedAt *string `json:"created_at"`
	CreatedBy string  `json:"created_by"`
	Builtin   bool    `json:"builtin"`
	Active    bool    `json:"active"`
}

// Policy is the schema Policy.
type Policy struct {
	Active   PolicyActive    `json:"active"`
	Versions []PolicyVersion `json:"versions"`
}

// PolicyTestResult is the schema PolicyTestResult.
type PolicyTestResult struct {
	Name     string `json:"name"`
	Passed   bool   `json:"passed"`
	Message  string `json:"message"`
	Location string `json:"location"`
}

// PolicyUploaded is the schema PolicyUploaded.
type PolicyUploaded struct {
	Version int                `json:"version"`
	Tests   []PolicyTestResult `json:"tests"`
}

// PolicyRefusedProblem is PolicyRefused's problems.
type PolicyRefusedProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// PolicyRefused is the schema PolicyRefused.
type PolicyRefused struct {
	Error    string                 `json:"error"`
	Problems []PolicyRefusedProblem `json:"problems"`
	Tests    []PolicyTestResult     `json:"tests"`
	Limit    string                 `json:"limit"`
}

// PolicyRollback is the schema PolicyRollback.
type PolicyRollback struct {
	Version int `json:"version"`
}

// PolicyEvaluationDecision is PolicyEvaluation's decision.
type PolicyEvaluationDecision struct {
	Allow       bool     `json:"allow"`
	Method      string   `json:"method"`
	TTLSeconds  int      `json:"ttl_seconds"`
	MaxAttempts int      `json:"max_attempts"`
	Reasons     []string `json:"reasons"`
	Risk        string   `json:"risk"`
	Channel     string   `json:"channel"`
}

// PolicyEvaluation is the schema PolicyEvaluation.
type PolicyEvaluation struct {
	Decision        PolicyEvaluationDecision `json:"decision"`
	Input           json.RawMessage          `json:"input"` // free-form: the policy input document, or null
	Directory       string                   `json:"directory"`
	PolicyConsulted bool                     `json:"policy_consulted"`
	PolicyVersion   int                      `json:"policy_version"`
	PolicyError     string                   `json:"policy_error"`
}

// StartSuccess is the schema StartSuccess.
type StartSuccess struct {
	Result    string `json:"result"`
	Attempt   string `json:"attempt"`
	Method    string `json:"method"`
	ExpiresAt string `json:"expires_at"`
	URL       string `json:"url"`
}

// Result is the schema Result.
type Result struct {
	Result string `json:"result"`
}

// SecurityError is the schema SecurityError.
type SecurityError struct {
	Result string `json:"result"`
}

// Error is the schema Error.
type Error struct {
	Error string `json:"error"`
}

// System is the schema System.
type System struct {
	Name        string     `json:"name"`
	Methods     []string   `json:"methods"`
	Sensitivity string     `json:"sensitivity"`
	TTLSeconds  int        `json:"ttl_seconds"`
	CreatedAt   string     `json:"created_at"`
	UpdatedAt   string     `json:"updated_at"`
	Effective   *Effective `json:"effective"`
	ReturnURL   string     `json:"return_url"`
}

// Systems is the schema Systems.
type Systems struct {
	Systems []System `json:"systems"`
}

// Assignment is the schema Assignment.
type Assignment struct {
	System string `json:"system"`
	Method string `json:"method"`
}

// Assignments is the schema Assignments.
type Assignments struct {
	Assignments []Assignment `json:"assignments"`
}

// User is the schema User.
type User struct {
	Authid             string       `json:"authid"`
	Name               string       `json:"name"`
	Email              string       `json:"email"`
	Phone              string       `json:"phone"`
	Status             string       `json:"status"`
	EmailPasswordLogin bool         `json:"email_password_login"`
	PasswordSetAt      *string      `json:"password_set_at"`
	PasswordChangedAt  *string      `json:"password_changed_at"`
	RecoveryCodesLeft  int          `json:"recovery_codes_left"`
	SSOBound           bool         `json:"sso_bound"`
	TOTPEnabled        bool         `json:"totp_enabled"`
	LastLoginAt        *string      `json:"last_login_at"`
	LoginCount         int          `json:"login_count"`
	LastIP             string       `json:"last_ip"`
	CreatedAt          string       `json:"created_at"`
	UpdatedAt          string       `json:"updated_at"`
	Assignments        []Assignment `json:"assignments"`
	Lockouts           []Lockout    `json:"lockouts"`
	TOTPEnabledAt      *string      `json:"totp_enabled_at"`
	TwoFactorResetAt   *string      `json:"two_factor_reset_at"`
	EmailVerifiedAt    *string      `json:"email_verified_at"`
	Organisation       string       `json:"organisation"`
}

// ImportResultSummary is ImportResult's summary.
type ImportResultSummary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"`
}

// ImportResultRow is ImportResult's rows.
type ImportResultRow struct {
	Line         int      `json:"line"`
	Authid       string   `json:"authid"`
	Organisation string   `json:"organisation"`
	Action       string   `json:"action"`
	Changes      []string `json:"changes"`
	Errors       []string `json:"errors"`
}

// ImportResult is the schema ImportResult.
type ImportResult struct {
	Applied bool                `json:"applied"`
	Valid   bool                `json:"valid"`
	Summary ImportResultSummary `json:"summary"`
	Rows    []ImportResultRow   `json:"rows"`
}

// ConsoleSignInPending is the schema ConsoleSignInPending.
type ConsoleSignInPending struct {
	Result    string `json:"result"`
	ExpiresAt string `json:"expires_at"`
}

// ConsoleCheckEnded is the schema ConsoleCheckEnded.
type ConsoleCheckEnded struct {
	Result string `json:"result"`
	Reason string `json:"reason"`
}

// ConsoleAuthenticated is the schema ConsoleAuthenticated.
type ConsoleAuthenticated struct {
	Result    string `json:"result"`
	CSRFToken string `json:"csrf_token"`
	Authid    string `json:"authid"`
	Account   string `json:"account"`
}

// ConsoleSession is the schema ConsoleSession.
type ConsoleSession struct {
	Account       string `json:"account"`
	Authid        string `json:"authid"`
	Name          string `json:"name"`
	CSRFToken     string `json:"csrf_token"`
	SignedInAt    string `json:"signed_in_at"`
	IdleExpiresAt string `json:"idle_expires_at"`
	ExpiresAt     string `json:"expires_at"`
	Fresh         bool   `json:"fresh"`
}

// DevOutboxMessage is DevOutbox's messages.
type DevOutboxMessage struct {
	ID      string  `json:"id"`
	Time    string  `json:"time"`
	Channel string  `json:"channel"`
	To      string  `json:"to"`
	Subject string  `json:"subject"`
	Link    string  `json:"link"`
	Code    string  `json:"code"`
	System  string  `json:"system"`
	Purpose *string `json:"purpose"` // absent but for a welcome link
}

// DevOutbox is the schema DevOutbox.
type DevOutbox struct {
	Messages []DevOutboxMessage `json:"messages"`
}

// StatsDay is Stats's days.
type StatsDay struct {
	Date          string `json:"date"`
	Authenticated int    `json:"authenticated"`
	Expired       int    `json:"expired"`
	Denied        int    `json:"denied"`
	Locked        int    `json:"locked"`
	Cancelled     int    `json:"cancelled"`
	Pending       int    `json:"pending"`
}

// StatsTotals is Stats's totals.
type StatsTotals struct {
	Authenticated int `json:"authenticated"`
	Expired       int `json:"expired"`
	Denied        int `json:"denied"`
	Locked        int `json:"locked"`
	Cancelled     int `json:"cancelled"`
	Pending       int `json:"pending"`
	Started       int `json:"started"`
}

// Stats is the schema Stats.
type Stats struct {
	Days           []StatsDay   `json:"days"`
	Totals         StatsTotals  `json:"totals"`
	SuccessRate    float64      `json:"success_rate"`
	RecentFailures []AuditEvent `json:"recent_failures"`
}

// UserAttemptsAttempt is UserAttempts's attempts.
type UserAttemptsAttempt struct {
	ID          string  `json:"id"`
	System      string  `json:"system"`
	State       string  `json:"state"`
	Method      string  `json:"method"`
	IP          string  `json:"ip"`
	StartedAt   string  `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
}

// UserAttemptsByMethodItem is UserAttempts's by_method.
type UserAttemptsByMethodItem struct {
	Method      string  `json:"method"`
	Logins      int     `json:"logins"`
	LastLoginAt *string `json:"last_login_at"`
	LastIP      string  `json:"last_ip"`
}

// UserAttempts is the schema UserAttempts.
type UserAttempts struct {
	Attempts []UserAttemptsAttempt      `json:"attempts"`
	ByMethod []UserAttemptsByMethodItem `json:"by_method"`
}

// RecoveryCodes is the schema RecoveryCodes.
type RecoveryCodes struct {
	Codes []string `json:"codes"`
}

// Users is the schema Users.
type Users struct {
	Total int    `json:"total"`
	Users []User `json:"users"`
}

// SSOIdentity is the schema SSOIdentity.
type SSOIdentity struct {
	Bound   bool   `json:"bound"`
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
}

// TOTPEnrolment is the schema TOTPEnrolment.
type TOTPEnrolment struct {
	OtpauthURI string `json:"otpauth_uri"`
	Secret     string `json:"secret"`
	QrPng      string `json:"qr_png"`
}

// TOTPEnabled is the schema TOTPEnabled.
type TOTPEnabled struct {
	TOTPEnabled bool `json:"totp_enabled"`
}

// AuditEvent is the schema AuditEvent.
type AuditEvent struct {
	ID           int64          `json:"id"`
	Time         string         `json:"time"`
	Type         string         `json:"type"`
	System       string         `json:"system"`
	Authid       string         `json:"authid"`
	Attempt      string         `json:"attempt"`
	IP           string         `json:"ip"`
	Reasons      []string       `json:"reasons"`
	Detail       map[string]any `json:"detail"`
	Organisation string         `json:"organisation"`
}

// AuditEvents is the schema AuditEvents.
type AuditEvents struct {
	Next   string       `json:"next"`
	Events []AuditEvent `json:"events"`
}

// Health is the schema Health.
type Health struct {
	Status string `json:"status"`
}

// APIKey is the schema APIKey.
type APIKey struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Scope      string  `json:"scope"`
	Key        string  `json:"key"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	RevokedAt  *string `json:"revoked_at"`
}

// AccountCredentialsDeleted is Account's credentials_deleted.
type AccountCredentialsDeleted struct {
	Users          int `json:"users"`
	Passwords      int `json:"passwords"`
	Authenticators int `json:"authenticators"`
	RecoveryCodes  int `json:"recovery_codes"`
	Links          int `json:"links"`
}

// Account is the schema Account.
type Account struct {
	ID                 string                     `json:"id"`
	Name               string                     `json:"name"`
	EmailDelivery      bool                       `json:"email_delivery"`
	EmailLogin         bool                       `json:"email_login"`
	EmailPasswordLogin bool                       `json:"email_password_login"`
	TopOrganisation    string                     `json:"top_organisation"`
	Parent             string                     `json:"parent"`
	CredentialsDeleted *AccountCredentialsDeleted `json:"credentials_deleted"`
	WelcomeLinks       *int                       `json:"welcome_links"`
}

// APIKeys is the schema APIKeys.
type APIKeys struct {
	Keys []APIKey `json:"keys"`
}

// Lockout is the schema Lockout.
type Lockout struct {
	Factor        string  `json:"factor"`
	Failures      int     `json:"failures"`
	Locked        bool    `json:"locked"`
	LockedUntil   *string `json:"locked_until"`
	HardLocked    bool    `json:"hard_locked"`
	LastFailureAt string  `json:"last_failure_at"`
}

// EffectiveMethod is the schema EffectiveMethod.
type EffectiveMethod struct {
	Method        string   `json:"method"`
	Allow         bool     `json:"allow"`
	DecidedMethod string   `json:"decided_method"`
	TTLSeconds    int      `json:"ttl_seconds"`
	MaxAttempts   int      `json:"max_attempts"`
	Channel       string   `json:"channel"`
	Reasons       []string `json:"reasons"`
}

// Effective is the schema Effective.
type Effective struct {
	PolicyVersion int               `json:"policy_version"`
	Assumed       string            `json:"assumed"`
	Methods       []EffectiveMethod `json:"methods"`
	Error         string            `json:"error"`
}

// PolicyEffectiveSensitivity is an Effective for one sensitivity.
type PolicyEffectiveSensitivity struct {
	Effective
	Sensitivity string `json:"sensitivity"`
}

// PolicyEffective is the schema PolicyEffective.
type PolicyEffective struct {
	Sensitivities []PolicyEffectiveSensitivity `json:"sensitivities"`
}

// EmailLoginResultsResult is EmailLoginResults's results.
type EmailLoginResultsResult struct {
	Authid string `json:"authid"`
	Result string `json:"result"`
	Error  string `json:"error"`
	Status int    `json:"status"`
	Link   string `json:"link"`
}

// EmailLoginResultsSummary is EmailLoginResults's summary.
type EmailLoginResultsSummary struct {
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"`
}

// EmailLoginResults is the schema EmailLoginResults.
type EmailLoginResults struct {
	Action  string                    `json:"action"`
	Results []EmailLoginResultsResult `json:"results"`
	Summary EmailLoginResultsSummary  `json:"summary"`
}

// SignInMethods is the schema SignInMethods.
type SignInMethods struct {
	Authid        string      `json:"authid"`
	NeverSignedIn bool        `json:"never_signed_in"`
	Ways          []SignInWay `json:"ways"`
}

// SignInWaySSO is SignInWay's sso.
type SignInWaySSO struct {
	Bound         bool    `json:"bound"`
	Issuer        string  `json:"issuer"`
	Position      string  `json:"position"`
	Phone         string  `json:"phone"`
	ProfileReadAt *string `json:"profile_read_at"`
}

// SignInWaySecurity is SignInWay's security.
type SignInWaySecurity struct {
	EmailPasswordLogin       bool     `json:"email_password_login"`
	PasswordSetAt            *string  `json:"password_set_at"`
	PasswordChangedAt        *string  `json:"password_changed_at"`
	TOTPEnabled              bool     `json:"totp_enabled"`
	TOTPPending              bool     `json:"totp_pending"`
	TOTPEnrolledAt           *string  `json:"totp_enrolled_at"`
	TwoFactorResetAt         *string  `json:"two_factor_reset_at"`
	RecoveryCodesLeft        int      `json:"recovery_codes_left"`
	RecoveryCodesGeneratedAt *string  `json:"recovery_codes_generated_at"`
	Actions                  []string `json:"actions"`
}

// SignInWay is the schema SignInWay.
type SignInWay struct {
	Kind      string            `json:"kind"`
	Method    string            `json:"method"`
	Systems   []string          `json:"systems"`
	Count     int               `json:"count"`
	LastLogin *string           `json:"last_login"`
	LastIP    string            `json:"last_ip"`
	SSO       SignInWaySSO      `json:"sso"`
	Security  SignInWaySecurity `json:"security"`
}

// PasswordResetSent is the schema PasswordResetSent.
type PasswordResetSent struct {
	Link string `json:"link"`
}

// AffectedUsers is the schema AffectedUsers.
type AffectedUsers struct {
	Error         string `json:"error"`
	AffectedUsers int    `json:"affected_users"`
}

// Organisation is the schema Organisation.
type Organisation struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Parent   string         `json:"parent"`
	Users    int            `json:"users"`
	Children []Organisation `json:"children"`
}

// Organisations is the schema Organisations.
type Organisations struct {
	Organisations []Organisation `json:"organisations"`
}

// UserMoved is the schema UserMoved.
type UserMoved struct {
	Authid             string       `json:"authid"`
	From               string       `json:"from"`
	Organisation       string       `json:"organisation"`
	Assignments        []Assignment `json:"assignments"`
	DroppedAssignments []Assignment `json:"dropped_assignments"`
}

// ReadinessChecks is Readiness's checks.
type ReadinessChecks struct {
	Store    string `json:"store"`
	Temporal string `json:"temporal"`
	Plugins  string `json:"plugins"`
}

// Readiness is the schema Readiness.
type Readiness struct {
	Status string          `json:"status"`
	Checks ReadinessChecks `json:"checks"`
}

// Messages is the Messages schema: a level's effective message
// templates and brand.
type Messages struct {
	System   string                             `json:"system"`
	Brand    MessagesBrand                      `json:"brand"`
	Messages map[string]map[string]MessagesPart `json:"messages"`
}

// MessagesBrand is Messages.brand.
type MessagesBrand struct {
	Name   string            `json:"name"`
	Color  string            `json:"color"`
	Source map[string]string `json:"source"`
}

// MessagesPart is one part of one message in Messages.messages.
type MessagesPart struct {
	Template string `json:"template"`
	Source   string `json:"source"`
}

// MessagePreview is the MessagePreview schema.
type MessagePreview struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// LockoutsCleared is the answer of DELETE
// /v1/admin/users/{authid}/lockout, a schema inline in the contract.
type LockoutsCleared struct {
	Cleared []Lockout `json:"cleared"`
}
