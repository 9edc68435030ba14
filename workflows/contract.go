package workflows

import (
	"time"
)

// TaskQueue is where attempt workflows and their activities run.
const TaskQueue = "flexauth-attempts"

// Update and query names: the API and the workflow share these.
const (
	// UpdateBegin waits until the attempt's policy decision is made and says
	// whether it goes ahead; start answers from it.
	UpdateBegin = "begin"
	// UpdateSubmitCode carries the digest of a PIN or TOTP code.
	UpdateSubmitCode = "submit-code"
	// UpdateConfirmLink carries the digest of a link token whose
	// confirmation page was posted.
	UpdateConfirmLink = "confirm-link"
	// UpdateAuthorizeSSO carries the digest of an sso attempt's link token
	// whose page was posted: the workflow has a sign-on request drawn (its
	// URL sealed on the attempt row) and remembers its state's digest.
	UpdateAuthorizeSSO = "authorize-sso"
	// UpdateConfirmSSO carries the digest of the state a provider's
	// callback brought back; the workflow has the code redeemed and the
	// identity checked.
	UpdateConfirmSSO = "confirm-sso"
	// UpdateSubmitPassword announces a password submitted on a password
	// attempt's hosted page. The password itself is sealed on the attempt
	// under a key made of the update's ID (attempt.PasswordSecretKey):
	// the update carries only the submitting browser's binding digest.
	UpdateSubmitPassword = "submit-password"
	// UpdateConfirmEnrolment carries the digest of the code that confirms
	// the authenticator a password attempt's user enrols.
	UpdateConfirmEnrolment = "confirm-enrolment"
	// UpdateRecoverByEmail carries the digest of a recover link opened in
	// the browser bound to a password attempt at its TOTP step: the user
	// lost the authenticator. Valid, it resets the second factor and moves
	// the attempt to enrolment.
	UpdateRecoverByEmail = "recover-by-email"
	// QueryState returns the attempt's State, for tools.
	QueryState = "state"
)

// States, as published to the attempt read model.
const (
	StatePending       = "pending"
	StateAuthenticated = "authenticated"
	StateExpired       = "expired"
	StateLocked        = "locked"
	StateDenied        = "denied"
)

// Verdicts of a code submission or link confirmation.
const (
	VerdictAccepted = "accepted"
	VerdictRejected = "rejected" // wrong code: the attempt stays pending
	VerdictClosed   = "closed"   // the attempt is no longer pending; see State
)

// WorkflowID is the ID of a subject's attempt workflow. There is one per
// (account, system, authid), so that one user has at most one attempt in
// flight per system: a new start terminates the running one. subject is a
// keyed digest of the system and the authid, made by the API (see
// api.subjectKey), so that neither the user nor the system name reaches
// Temporal, its database or its UI in clear; the attempt row keeps the ID.
func WorkflowID(accountID, subject string) string {
	return "attempt/" + accountID + "/" + subject
}

// AttemptInput starts an attempt.
type AttemptInput struct {
	AttemptID string
	AccountID string
	System    string
	AuthID    string
	IP        string
	UserAgent string
	// PageDigest is the digest of the hosted page token the API drew for
	// this start; a password or sso attempt answers its URL.
	PageDigest string `json:",omitempty"`
	// Shape is the command sequence the attempt runs (ShapeCompact,
	// ShapeLean or the original 0), fixed when it starts: attempts already running when a
	// new shape deploys keep theirs and replay as recorded, without a
	// version marker in every history.
	Shape int `json:",omitempty"`
}

// Shapes of an attempt's workflow.
const (
	// ShapeLean delivers by a local activity (a regular one only when that
	// fails), checks codes per factor without a version marker, and leaves
	// its expiry timer to die with the run rather than cancelling it: five
	// to eight fewer history events and one workflow task fewer per
	// delivered sign-in.
	ShapeLean = 1
	// ShapeCompact is ShapeLean whose right code is checked and published
	// in one transaction, without a Finish after it: a PIN sign-in
	// answered at the first try takes 16 history events instead of 17,
	// three local activities instead of four, and two store transactions
	// instead of three.
	ShapeCompact = 2
	// CurrentShape is what new attempts run.
	CurrentShape = ShapeCompact
)

// AttemptResult is the attempt's final state.
type AttemptResult struct {
	State   string
	Method  string
	Reasons []string
}

// BeginResult answers UpdateBegin.
type BeginResult struct {
	Allowed   bool
	AttemptID string
	Method    string
	ExpiresAt time.Time
}

// Submission is a code or a link confirmation, reduced to a keyed digest
// bound to the attempt before it reaches the workflow.
type Submission struct {
	AttemptID string
	Digest    string
	// Factor is what a code is, read from its form by the API: pin, totp or
	// recovery ("" in histories of earlier versions).
	Factor string
	// Alternates are a recovery code's digests under the previous master
	// keys of a rotation, bound to the attempt like Digest.
	Alternates []string `json:",omitempty"`
	// Browser is the digest of the cookie that binds a password attempt's
	// steps to the browser that gave the right password.
	Browser string `json:",omitempty"`
}

// Verdict answers a Submission.
type Verdict struct {
	Verdict   string
	State     string
	Remaining int // wrong codes left before the attempt locks
	// Step is a password attempt's step after the submission.
	Step string `json:",omitempty"`
}

// State is what QueryState returns.
type State struct {
	AttemptID string
	State     string
	Method    string
	Failures  int
	ExpiresAt time.Time
	Step      string
}
