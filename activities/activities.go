package activities

import (
	"context"
	"runtime"
	"time"

	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/messages"
	"github.com/flexauth/flexauth/password"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"

	"github.com/prometheus/client_golang/prometheus"
)

// Store is the persistence the activities need.
type Store interface {
	OpenAttempt(ctx context.Context, a *store.Attempt, effect string, result any, at time.Time, events ...store.AuditEvent) (store.Opening, error)
	BeginAttempt(ctx context.Context, a *store.Attempt, effect string, result any, at time.Time, events []store.AuditEvent,
		decide func(ctx context.Context, tx *store.Store, o store.Opening) (store.Publication, error)) (store.Opening, error)
	PublishAttempt(ctx context.Context, id string, u store.AttemptUpdate, events ...store.AuditEvent) (bool, error)
	SetChallenge(ctx context.Context, id string, sealed []byte) ([]byte, error)
	GetUser(ctx context.Context, accountID, authid string) (store.User, error)
	admission.InputStore
	admission.LimitStore
	policies.ActiveVersions
	RecordCodeCheck(ctx context.Context, c store.CodeCheck) (store.CodeOutcome, error)
	LoadEffect(ctx context.Context, attemptID, key string, result any) (bool, error)
	UnusedRecoveryCodes(ctx context.Context, userID string) ([]store.RecoveryCode, error)
	AppendAudit(ctx context.Context, events ...store.AuditEvent) error
	GetAttempt(ctx context.Context, id string) (store.Attempt, error)
	SetSSOAuthorization(ctx context.Context, id, stateDigest string, sealed []byte) (bool, error)
	ClearSSOSealed(ctx context.Context, id string) error
	BindSSO(ctx context.Context, userID, issuer, subject string, events ...store.AuditEvent) (bool, error)
	RecordSSOProfile(ctx context.Context, userID, issuer, subject string, p store.SSOProfile, at time.Time) (bool, error)
	UserByID(ctx context.Context, id string) (store.User, error)
	GetCredentialLink(ctx context.Context, id string) (store.CredentialLink, error)
	DrawCredentialLink(ctx context.Context, id, digest string, sealed []byte, expiresAt time.Time) (store.CredentialLink, error)
	CredentialLinkSent(ctx context.Context, id string, at time.Time, events ...store.AuditEvent) (bool, error)
	VoidCredentialLink(ctx context.Context, id string, at time.Time, events ...store.AuditEvent) (bool, error)
	AttemptSecret(ctx context.Context, attemptID, key string) (store.AttemptSecret, error)
	SetTOTPPending(ctx context.Context, userID string, sealed []byte, at time.Time, events ...store.AuditEvent) error
	CompleteEnrolment(ctx context.Context, e store.Enrolment) (store.EnrolmentOutcome, error)
	Ancestors(ctx context.Context, id string) ([]string, error)
	RecoverByEmail(ctx context.Context, r store.EmailRecovery) (store.RecoveryOutcome, error)
	MessageLevels(ctx context.Context, accountID, system string) ([]messages.Level, error)
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
	PublicURL string // base of links in messages, e.g. http://127.0.0.1:8080
	PINDigits int    // default 8
	// Lockout: a factor (pin, totp, recovery code, sso) locks after the
	// policy's max_attempts consecutive failures for LockoutBase, each
	// further failure doubling the wait up to LockoutMax; at HardLockAfter
	// consecutive failures it stays locked until an administrator clears
	// it (NIST SP 800-63B-4 allows at most 100).
	LockoutBase   time.Duration // default 15m
	LockoutMax    time.Duration // default 24h
	HardLockAfter int           // default 100
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

	// Limits bound starts (see Limits).
	Limits admission.Limits

	// Metrics is where the activities' Prometheus metrics are registered
	// (metrics.go); nil: nowhere.
	Metrics prometheus.Registerer

	// WelcomeLinkTTL is how long a welcome link works once drawn (default
	// attempt.DefaultWelcomeLinkTTL, 72 hours).
	WelcomeLinkTTL time.Duration

	// Passwords verify the passwords users sign in with (default: package
	// password's argon2id with its recommended parameters).
	Passwords Passwords
	// MaxConcurrentHashes bounds the password verifications running at
	// once in this worker (default twice the CPUs): each holds argon2id's
	// 19 MiB while it runs, and a flood of passwords must queue, not
	// exhaust memory.
	MaxConcurrentHashes int

	// ResetLinkTTL is how long a password reset link works once drawn
	// (default attempt.DefaultResetLinkTTL, 1 hour).
	ResetLinkTTL time.Duration
}

// Passwords verify a password against its stored hash and hash it anew
// when the stored hash's parameters are out of date. The API's rules hash
// what users set; both must read each other's hashes.
type Passwords interface {
	Verify(plain, encoded string) (ok, needsRehash bool, err error)
	Hash(plain string) (string, error)
}

// argon2Passwords are package password's.
type argon2Passwords struct{}

func (argon2Passwords) Verify(plain, encoded string) (bool, bool, error) {
	return password.Verify(plain, encoded)
}

func (argon2Passwords) Hash(plain string) (string, error) { return password.Hash(plain) }

// lockoutRule is the rule a factor locks by, at a policy's max_attempts.
func (c Config) lockoutRule(maxAttempts int) store.LockoutRule {
	return store.LockoutRule{Threshold: maxAttempts, BaseWait: c.LockoutBase, MaxWait: c.LockoutMax, HardLimit: c.HardLockAfter}
}

// plugin returns the delivery plugin for an account's channel: the
// account's own, else its nearest ancestor's (delivery routing flows down
// to sub-organisations), else the deployment's. The ancestors are looked
// up only when some account has a routing of its own.
func (a *Activities) plugin(ctx context.Context, accountID, channel string) (string, bool, error) {
	return a.pluginOf(ctx, a.store, accountID, channel)
}

// pluginOf is plugin, reading the account's chain through st.
func (a *Activities) pluginOf(ctx context.Context, st ancestry, accountID, channel string) (string, bool, error) {
	if len(a.cfg.AccountChannels) > 0 {
		chain, err := st.Ancestors(ctx, accountID)
		if err != nil {
			return "", false, err
		}
		for _, id := range chain {
			if name, ok := a.cfg.AccountChannels[id][channel]; ok {
				return name, true, nil
			}
		}
	}
	name, ok := a.cfg.Channels[channel]
	return name, ok, nil
}

// signOn returns the sign-on plugin of an account: its own, else its
// nearest ancestor's, else the deployment's.
func (a *Activities) signOn(ctx context.Context, accountID string) (string, bool, error) {
	return a.signOnOf(ctx, a.store, accountID)
}

// ancestry reads an account's chain of organisations.
type ancestry interface {
	Ancestors(ctx context.Context, id string) ([]string, error)
}

// signOnOf is signOn reading the ancestors from st.
func (a *Activities) signOnOf(ctx context.Context, st ancestry, accountID string) (string, bool, error) {
	if len(a.cfg.AccountSignOn) > 0 {
		chain, err := st.Ancestors(ctx, accountID)
		if err != nil {
			return "", false, err
		}
		for _, id := range chain {
			if name, ok := a.cfg.AccountSignOn[id]; ok && name != "" {
				return name, true, nil
			}
		}
	}
	return a.cfg.SignOn, a.cfg.SignOn != "", nil
}

// Activities holds the dependencies of every attempt activity.
type Activities struct {
	store   Store
	policy  Policy
	plugins Plugins
	keys    *secret.Keyring
	cfg     Config
	now     func() time.Time
	// hashSlots bounds concurrent password verifications (see
	// Config.MaxConcurrentHashes).
	hashSlots chan struct{}
	metrics   metrics
}

// New returns the activities. now may be nil for time.Now.
func New(st Store, policy Policy, plugins Plugins, keys *secret.Keyring, cfg Config, now func() time.Time) *Activities {
	if cfg.PINDigits == 0 {
		cfg.PINDigits = 8
	}
	if cfg.LockoutBase <= 0 {
		cfg.LockoutBase = 15 * time.Minute
	}
	if cfg.LockoutMax <= 0 {
		cfg.LockoutMax = 24 * time.Hour
	}
	if cfg.HardLockAfter <= 0 || cfg.HardLockAfter > 100 {
		cfg.HardLockAfter = 100
	}
	if cfg.WelcomeLinkTTL <= 0 {
		cfg.WelcomeLinkTTL = attempt.DefaultWelcomeLinkTTL
	}
	if cfg.Passwords == nil {
		cfg.Passwords = argon2Passwords{}
	}
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = 2 * runtime.NumCPU()
	}
	if cfg.ResetLinkTTL <= 0 {
		cfg.ResetLinkTTL = attempt.DefaultResetLinkTTL
	}
	if len(cfg.Channels) == 0 {
		cfg.Channels = map[string]string{"email": "outbox", "sms": "outbox"}
	}
	if now == nil {
		now = time.Now
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		// Only a registry holding other collectors of these names: the
		// counts go unserved rather than the worker not starting.
		m, _ = newMetrics(nil)
	}
	// Every decision and plugin call is counted and timed, whoever the
	// caller among the activities.
	policy = meteredPolicy{Policy: policy, m: m}
	plugins = meteredPlugins{Plugins: plugins, m: m}
	return &Activities{store: st, policy: policy, plugins: plugins, keys: keys, cfg: cfg, now: now,
		hashSlots: make(chan struct{}, cfg.MaxConcurrentHashes), metrics: m}
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

// Non-retryable application error types.
const (
	ErrTypeDelivery = "DeliveryFailed"
	ErrTypeNoSecret = "ChallengeUnavailable"
	ErrTypeSignOn   = "SignOnUnavailable"
	ErrTypeBadInput = "BadInput"
)
