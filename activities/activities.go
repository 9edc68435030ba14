package activities

import (
	"context"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Store is the persistence the activities need.
type Store interface {
	InsertAttempt(ctx context.Context, a *store.Attempt) error
	PublishAttempt(ctx context.Context, id string, u store.AttemptUpdate, events ...store.AuditEvent) (bool, error)
	CancelOtherAttempts(ctx context.Context, a store.Attempt, at time.Time) ([]string, error)
	SetChallenge(ctx context.Context, id string, sealed []byte) ([]byte, error)
	GetAccount(ctx context.Context, id string) (store.Account, error)
	GetSystem(ctx context.Context, accountID, name string) (store.System, error)
	GetUser(ctx context.Context, accountID, authid string) (store.User, error)
	GetAssignment(ctx context.Context, userID, systemID string) (store.Assignment, error)
	KnownIP(ctx context.Context, userID, ip string) (bool, error)
	CountAttempts(ctx context.Context, accountID, authid string, since time.Time) (int, error)
	RecordFailure(ctx context.Context, userID string, at time.Time, window time.Duration) (int, error)
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	UnusedRecoveryCodes(ctx context.Context, userID string) ([]store.RecoveryCode, error)
	UseRecoveryCode(ctx context.Context, id string, at time.Time, events ...store.AuditEvent) (bool, error)
	AppendAudit(ctx context.Context, events ...store.AuditEvent) error
	GetAttempt(ctx context.Context, id string) (store.Attempt, error)
	SetSSOAuthorization(ctx context.Context, id, stateDigest string, sealed []byte) (bool, error)
	ClearSSOSealed(ctx context.Context, id string) error
	BindSSO(ctx context.Context, userID, issuer, subject string, events ...store.AuditEvent) (bool, error)
}

// Policy decides how an attempt proceeds. It fails closed: on error the
// decision denies.
type Policy interface {
	Decide(ctx context.Context, in policies.Input) (policies.Decision, error)
}

// Plugins reaches plugin processes: delivery plugins send messages,
// identity plugins look users up and sign them on (plugins/host serves all).
type Plugins interface {
	Send(ctx context.Context, plugin string, req sdk.SendRequest) (sdk.SendResponse, error)
	Lookup(ctx context.Context, plugin string, req sdk.LookupRequest) (sdk.Identity, error)
	Authorize(ctx context.Context, plugin string, req sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error)
	Exchange(ctx context.Context, plugin string, req sdk.ExchangeRequest) (sdk.Claims, error)
}

// Config tunes the activities.
type Config struct {
	PublicURL     string        // base of links in messages, e.g. http://127.0.0.1:8080
	PINDigits     int           // default 8
	LockoutWindow time.Duration // how long failures count towards a lock-out; default 15m
	// Channels maps a channel (email, sms) to the delivery plugin that
	// sends it; default: the outbox for both. AccountChannels overrides it
	// per account (an account with its own mail server or SMS sender).
	Channels        map[string]string
	AccountChannels map[string]map[string]string
	// Directory names the identity plugin that resolves users to contact
	// data, groups and attributes for the policy; "" for none.
	Directory string
	// SignOn names the identity plugin that signs users on for method sso
	// (OpenID Connect); AccountSignOn overrides it per account.
	SignOn        string
	AccountSignOn map[string]string

	// Start limits stop message bombing and guessing at scale: more starts
	// than this in the window are denied (and audited) before anything is
	// sent. Zero means the default; negative disables the limit.
	UserStarts    int           // per user across systems; default 10
	AccountStarts int           // per account; default 600
	StartWindow   time.Duration // default 15m for users; accounts use one minute
}

// plugin returns the delivery plugin for an account's channel.
func (c Config) plugin(accountID, channel string) (string, bool) {
	if name, ok := c.AccountChannels[accountID][channel]; ok {
		return name, true
	}
	name, ok := c.Channels[channel]
	return name, ok
}

// signOn returns the sign-on plugin of an account.
func (c Config) signOn(accountID string) (string, bool) {
	if name, ok := c.AccountSignOn[accountID]; ok && name != "" {
		return name, true
	}
	return c.SignOn, c.SignOn != ""
}

// Activities holds the dependencies of every attempt activity.
type Activities struct {
	store   Store
	policy  Policy
	plugins Plugins
	keys    *secret.Keyring
	cfg     Config
	now     func() time.Time
}

// New returns the activities. now may be nil for time.Now.
func New(st Store, policy Policy, plugins Plugins, keys *secret.Keyring, cfg Config, now func() time.Time) *Activities {
	if cfg.PINDigits == 0 {
		cfg.PINDigits = 8
	}
	if cfg.LockoutWindow == 0 {
		cfg.LockoutWindow = 15 * time.Minute
	}
	if len(cfg.Channels) == 0 {
		cfg.Channels = map[string]string{"email": "outbox", "sms": "outbox"}
	}
	if cfg.UserStarts == 0 {
		cfg.UserStarts = 10
	}
	if cfg.AccountStarts == 0 {
		cfg.AccountStarts = 600
	}
	if cfg.StartWindow == 0 {
		cfg.StartWindow = 15 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Activities{store: st, policy: policy, plugins: plugins, keys: keys, cfg: cfg, now: now}
}

// Subject identifies the attempt in every activity input, for the row and
// the audit trail.
type Subject struct {
	AttemptID string
	AccountID string
	System    string
	AuthID    string
	IP        string
}

func (s Subject) event(at time.Time, typ string, reasons ...string) store.AuditEvent {
	return store.AuditEvent{
		AccountID: s.AccountID, Time: at, Type: typ, System: s.System,
		AuthID: s.AuthID, AttemptID: s.AttemptID, IP: s.IP, Reasons: reasons,
	}
}

// Audit event types written by the activities.
const (
	EventStarted       = "attempt.started"
	EventDecision      = "policy.decision"
	EventDenied        = "attempt.denied"
	EventDelivered     = "challenge.delivered"
	EventRejected      = "code.rejected"
	EventAuthenticated = "attempt.authenticated"
	EventLocked        = "attempt.locked"
	EventExpired       = "attempt.expired"
)

// Non-retryable application error types.
const (
	ErrTypeDelivery = "DeliveryFailed"
	ErrTypeNoSecret = "ChallengeUnavailable"
	ErrTypeSignOn   = "SignOnUnavailable"
)
