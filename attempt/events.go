package attempt

// Audit event types of an attempt, written by the activities (and, for
// the administrator's side of single sign-on, by the admin API) and read
// by the admin API's statistics and audit filters.
const (
	EventStarted       = "attempt.started"
	EventDecision      = "policy.decision"
	EventDenied        = "attempt.denied"
	EventDelivered     = "challenge.delivered"
	EventRejected      = "code.rejected"
	EventAuthenticated = "attempt.authenticated"
	EventLocked        = "attempt.locked"
	EventExpired       = "attempt.expired"
	EventFactorLocked  = "factor.locked"
)

// Audit event types of sign-in by password on the hosted page.
const (
	EventPasswordAccepted = "password.accepted"
	EventTOTPEnrolled     = "totp.enrolled"
	EventRecoveryCodes    = "recovery_codes.generated"
	// EventRecoveryCodeUsed is audited when a recovery code signs in.
	EventRecoveryCodeUsed = "recovery_code.used"
)

// Audit event types of a recovery by email ("lost your authenticator?").
const (
	EventTwoFactorReset = "totp.reset"
	EventRecoverUsed    = "recover.used"
)

// Audit event types of single sign-on. EventSSORefused carries the
// identity the provider answered with (issuer, subject), so that an
// administrator can approve it (PUT /v1/admin/users/{authid}/sso, which
// records EventSSOApproved; DELETE records EventSSOUnbound).
const (
	EventSSORedirected = "sso.redirected"
	EventSSOBound      = "sso.bound"
	EventSSORefused    = "sso.refused"
	EventSSOApproved   = "sso.approved"
	EventSSOUnbound    = "sso.unbound"
)

// LinkEvent is the audit event type of what happened to a credential link
// of purpose ("requested", "delayed", "sent", "failed"), such as
// welcome.sent.
func LinkEvent(purpose, what string) string { return purpose + "." + what }
