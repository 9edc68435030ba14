package api

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/health"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Config tunes the API. Zero values take the defaults documented per field.
type Config struct {
	PublicURL string // e.g. http://127.0.0.1:8080
	// PINDigits is the length of delivered PINs (default 8): a PIN sent as
	// a JSON number shorter than this is zero-padded, since JSON numbers
	// lose leading zeros. TOTP codes are padded to 6 digits.
	PINDigits    int
	MaxBodyBytes int64 // default 64 KiB
	// StartFloor is the least time start takes to answer, so that known and
	// unknown users cannot be told apart by timing; default 50ms.
	StartFloor time.Duration
	// CodeCheckFloor is the least time a console sign-in check carrying a
	// code takes to answer, unless the code signs in: wrong codes, codes
	// for attempts that do not exist and codes the workflow judges slowly
	// cannot be told apart by timing; default 1s.
	CodeCheckFloor time.Duration
	// AuthenticatedGrace is how long check keeps answering "authenticated"
	// after a success; default 5m, then "expired".
	AuthenticatedGrace time.Duration
	// TrustedProxies are the addresses (IPs or CIDRs) whose ClientIPHeader
	// is believed. By default none is: the client IP feeds the risk policy
	// and the per-IP limits, so a client must not be able to choose it.
	TrustedProxies []string
	// ClientIPHeader is the header in which a trusted proxy passes the
	// client's address (default X-Forwarded-For; e.g. X-Real-IP). Only
	// this one header is read, and only from TrustedProxies.
	ClientIPHeader string
	// ListenAddr is the address the server listens on (host:port). With
	// PublicURL and AllowedHosts it makes the Host headers served; any
	// other Host is answered 421 (see hosts.go). A server given none of
	// the three serves no Host at all.
	ListenAddr string
	// AllowedHosts are further Host names served, "name" (any port) or
	// "name:port": e.g. the internal name application servers call.
	AllowedHosts []string
	// Per-client-IP limits (see ratelimit.go); the zero value takes the
	// default, a negative PerSecond turns a limit off.
	AppIPLimit     IPLimit // start, check; default DefaultAppIPLimit
	BrowserIPLimit IPLimit // link pages, sign-on callback, console sign-in check; default DefaultBrowserIPLimit
	SignInIPLimit  IPLimit // console sign-in start; default DefaultSignInIPLimit
	// MaxTrackedClients bounds how many client addresses each limit keeps
	// (default 65536); beyond it the least recently seen is forgotten.
	MaxTrackedClients int
	Logger            *slog.Logger
	// DevOutbox is the outbox plugin's file, set by `flexauth dev` only:
	// GET /v1/admin/dev/outbox shows its last messages to the console.
	DevOutbox string
	// Limits are the start limits; the API judges a console sign-in's
	// before starting anything (the worker judges every start again). The
	// same values as the worker's, from the same flags.
	Limits admission.Limits
	// PolicyReview says how uploaded policies are reviewed: in a child
	// process (by default this executable's hidden `policy review-child`)
	// with memory, CPU and wall-clock limits, a bounded number at once.
	// Zero values take the policies package's defaults.
	PolicyReview policies.ReviewerConfig
	// Metrics is the registry the server's metrics are registered on and
	// /metrics serves; nil: a registry of the server's own. The caller adds
	// the process-wide collectors (Go runtime, process).
	Metrics *prometheus.Registry
	// PluginsReady reports whether the plugins this process runs are
	// launched, for /readyz; nil when it runs none (`flexauth api`).
	PluginsReady func(ctx context.Context) error
	// Tracing, when set, makes a server span of every request, named for
	// its route (tracing.go). Nil: requests are not traced.
	Tracing *Tracing
	// Now is the server's clock (sessions, expiries, audit times); default
	// time.Now. Only tests set it, to move past the console's session
	// timeouts without waiting for them.
	Now func() time.Time
	// LinkRetryInterval is how often credential links whose delivery
	// could not be started are tried again (default 1m; see
	// credential_links.go).
	LinkRetryInterval time.Duration
	// PasswordRules judge and hash the passwords users choose on the
	// hosted pages; nil for the built-in rules (password_rules.go).
	PasswordRules PasswordRules
	// ResetLinksPerHour bounds the links "Forgot password?" sends one
	// user in an hour (default 3; see forgot.go).
	ResetLinksPerHour int
	// SecuritySignInFloor is the least time a sign-in to the security
	// settings takes to answer, so that unknown addresses, wrong and
	// locked passwords cannot be told apart by timing; default 600ms.
	SecuritySignInFloor time.Duration
}

// Validate reports the settings a server would not use as given: a
// malformed trusted proxy, client IP header, public URL, listen address,
// allowed host or limit. `flexauth api` and `flexauth dev` refuse to start
// on any, rather than trust nobody or serve nothing in silence.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.TrustedProxies {
		var err error
		if strings.Contains(p, "/") {
			_, err = netip.ParsePrefix(p)
		} else {
			_, err = netip.ParseAddr(p)
		}
		if err != nil || strings.Contains(p, "%") {
			errs = append(errs, fmt.Errorf("trusted proxy %q: want an IP address or CIDR", p))
		}
	}
	if h := c.ClientIPHeader; h != "" && strings.Trim(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		errs = append(errs, fmt.Errorf("client IP header %q: want a header name", h))
	}
	if _, err := newHostPolicy(c.PublicURL, c.ListenAddr, c.AllowedHosts); err != nil {
		errs = append(errs, err)
	}
	for _, l := range []IPLimit{c.AppIPLimit, c.BrowserIPLimit, c.SignInIPLimit} {
		if err := l.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Defaults.
const (
	defaultPINDigits          = 8
	defaultMaxBodyBytes       = 64 << 10
	defaultStartFloor         = 50 * time.Millisecond
	defaultCodeCheckFloor     = time.Second
	defaultAuthenticatedGrace = 5 * time.Minute
	defaultClientIPHeader     = "X-Forwarded-For"
	// temporalTimeout bounds each call to Temporal, so that a stuck cluster
	// turns into a 503 rather than a hung client.
	temporalTimeout = 15 * time.Second
)

// The persistence the API needs, by handler group.
type (
	keyStore interface {
		APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error)
		Poll(ctx context.Context, keyHash string, p store.AttemptPoll) (store.APIKey, store.Attempt, bool, error)
		TouchAPIKey(ctx context.Context, id string, at time.Time) error
		CreateAPIKey(ctx context.Context, k *store.APIKey, events ...store.AuditEvent) error
		ListAPIKeys(ctx context.Context, accountID string) ([]store.APIKey, error)
		RevokeAPIKey(ctx context.Context, accountID, id string, at time.Time, events ...store.AuditEvent) error
	}
	attemptStore interface {
		admission.LimitStore
		InsertAttempt(ctx context.Context, a *store.Attempt, events ...store.AuditEvent) (bool, error)
		PublishAttempt(ctx context.Context, id string, u store.AttemptUpdate, events ...store.AuditEvent) (bool, error)
		LatestAttempt(ctx context.Context, accountID, system, authid string) (store.Attempt, error)
		GetAttempt(ctx context.Context, id string) (store.Attempt, error)
		AttemptByLinkDigest(ctx context.Context, digest string) (store.Attempt, error)
		AttemptBySSOState(ctx context.Context, stateDigest string) (store.Attempt, error)
		ConsumeSSOState(ctx context.Context, id, stateDigest string, sealed []byte) (bool, error)
	}
	systemStore interface {
		CreateSystem(ctx context.Context, sys *store.System, events ...store.AuditEvent) error
		ListSystems(ctx context.Context, accountID string) ([]store.System, error)
		GetSystem(ctx context.Context, accountID, name string) (store.System, error)
		UpdateSystem(ctx context.Context, sys *store.System, events ...store.AuditEvent) error
		DeleteSystem(ctx context.Context, accountID, name string, events ...store.AuditEvent) error
		AssignmentsUsingOtherMethods(ctx context.Context, systemID string, methods []string) (int64, error)
	}
	userStore interface {
		CreateUser(ctx context.Context, u *store.User, events ...store.AuditEvent) error
		ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, error)
		GetUser(ctx context.Context, accountID, authid string) (store.User, error)
		UpdateUserProfile(ctx context.Context, u *store.User, events ...store.AuditEvent) error
		DeleteUser(ctx context.Context, accountID, authid string, events ...store.AuditEvent) error
		SetAssignments(ctx context.Context, userID string, as []store.Assignment, events ...store.AuditEvent) error
		ListAssignments(ctx context.Context, userID string) ([]store.AssignedSystem, error)
		UserByID(ctx context.Context, id string) (store.User, error)
		ApplyUserChanges(ctx context.Context, accountID string, changes []store.UserChange, events ...store.AuditEvent) error
		SetTOTPPending(ctx context.Context, userID string, sealed []byte, at time.Time, events ...store.AuditEvent) error
		ActivateTOTP(ctx context.Context, userID string, sealed []byte, step int64, at time.Time, events ...store.AuditEvent) error
	}
	auditStore interface {
		AppendAudit(ctx context.Context, events ...store.AuditEvent) error
		ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
	}
	consoleStore interface {
		GetAccount(ctx context.Context, id string) (store.Account, error)
		CreateConsoleSession(ctx context.Context, sess *store.ConsoleSession, idleBefore time.Time, events ...store.AuditEvent) error
		GetConsoleSession(ctx context.Context, id string) (store.ConsoleSession, error)
		TouchConsoleSession(ctx context.Context, id string, at time.Time) error
		DeleteConsoleSession(ctx context.Context, id string, events ...store.AuditEvent) error
		ConsoleSignInUsedAt(ctx context.Context, attemptID string) (time.Time, error)
		ConsoleUser(ctx context.Context, userID, system string) (store.User, error)
	}
	// consoleDataStore serves the console's dashboard, user pages and
	// two-factor administration.
	consoleDataStore interface {
		AttemptsByDay(ctx context.Context, accountID string, since time.Time, f store.SystemFilter) ([]store.DayStateCount, error)
		RecentAuditOfTypes(ctx context.Context, accountID string, types []string, f store.SystemFilter, limit int) ([]store.AuditEvent, error)
		UserAttempts(ctx context.Context, accountID, authid string, limit int) ([]store.Attempt, error)
		LoginsByMethod(ctx context.Context, accountID, authid string) ([]store.MethodLogins, error)
		CountUsers(ctx context.Context, f store.UserFilter) (int, error)
		HasSystemInBranch(ctx context.Context, rootID, name string) (bool, error)
		CountUnusedRecoveryCodes(ctx context.Context, userID string) (int, error)
		ReplaceRecoveryCodes(ctx context.Context, userID string, codes []store.RecoveryCode, events ...store.AuditEvent) error
		ResetTwoFactor(ctx context.Context, userID string, at time.Time, events ...store.AuditEvent) error
		FactorLocks(ctx context.Context, userID string) ([]store.FactorLock, error)
		ClearFactorLocks(ctx context.Context, userID string, factors []string, events ...store.AuditEvent) (int, error)
	}
	persistence interface {
		storePinger
		consoleStore
		consoleDataStore
		keyStore
		attemptStore
		systemStore
		messagesStore
		userStore
		auditStore
		policyStore
		accountStore
		ssoStore
		signInMethodsStore
		linkStore
		welcomeStore
		signinStore
		forgotStore
		securityStore
		organisationStore
		userMoveStore
	}
)

var _ persistence = (*store.Store)(nil)

// serverStore is what the server is built on: the handlers' persistence
// and what the administration services (package admin) take, which the
// handlers reach only through those services.
type serverStore interface {
	persistence
	admin.ImportStore
	admin.ConsoleAdminStore
}

var _ serverStore = (*store.Store)(nil)

// Server serves the HTTP API.
type Server struct {
	cfg     Config
	store   persistence
	wf      workflowClient
	keys    *secret.Keyring
	log     *slog.Logger
	pages   *template.Template
	csp     string
	openapi []byte
	engine  *gin.Engine
	now     func() time.Time
	hosts   hostPolicy
	limits  ipLimits
	// devToken is drawn at each start of `flexauth dev`; the console page
	// carries it and the dev outbox answers only requests that send it.
	devToken string
	// consolePage is the console's index.html, with the dev token in dev;
	// consolePublic is the page without it, for clients on other machines
	// (loopbackPeer).
	consolePage, consolePublic []byte
	// policy answers "what would the policy decide" with each account's
	// active policy, compiled in this process as the worker compiles it;
	// evaluations bounds how many of those run at once.
	policy      *policies.Registry
	evaluations chan struct{}
	// reviewer compiles and tests uploaded policies, out of this process.
	reviewer *policies.Reviewer
	// bg runs the console sign-in's work after its answer.
	bg *background
	// signIns counts the console sign-ins this process has let through and
	// not yet recorded, so that the limits judged before a start count
	// every start before it (a burst would otherwise all pass one count).
	signIns startsInFlight
	// publicOrigin is PublicURL's origin ("scheme://host[:port]"), the only
	// Origin a link confirmation is accepted from; "" when PublicURL is not
	// an absolute URL.
	publicOrigin string
	// links starts the delivery of credential links; nil without Temporal.
	links *linkDispatcher
	// passwords judge and hash the passwords set on the hosted pages;
	// passwordPages render them.
	passwords     PasswordRules
	passwordPages *template.Template
	// signinPages render the hosted sign-in page of password and sso
	// attempts (password_signin.go), under signinCSP.
	signinPages *template.Template
	signinCSP   string
	// forgotPages render "Forgot password?"; forgotWork runs its lookups
	// after the answer.
	forgotPages *template.Template
	forgotWork  *background
	// securityPages render the security settings (security.go), under
	// securityCSP; dummyHash is what an unknown address's password is
	// checked against, drawn once.
	securityPages *template.Template
	securityCSP   string
	dummyHashOnce sync.Once
	dummyHash     string
	dummyChecks   chan struct{} // bounds concurrent dummy checks (2 per CPU)
	// ready answers /readyz (readyz.go).
	ready *health.Readiness
	// metrics count requests; /metrics serves cfg.Metrics (metrics.go).
	metrics *httpMetrics

	// The administration rules the handlers apply (package admin).
	importer      usersImporter
	consoleAdmins consoleAdminRule
}

// New returns the API server. temporal is the client of the cluster that
// runs the attempt workflows.
func New(cfg Config, st *store.Store, temporal client.Client, keys *secret.Keyring) *Server {
	return newServer(cfg, st, temporal, keys)
}

// newServer takes the narrow interfaces, so tests can put a broken Temporal
// behind the real store.
func newServer(cfg Config, st serverStore, wf workflowClient, keys *secret.Keyring) *Server {
	if cfg.PINDigits <= 0 {
		cfg.PINDigits = defaultPINDigits
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.StartFloor <= 0 {
		cfg.StartFloor = defaultStartFloor
	}
	if cfg.CodeCheckFloor <= 0 {
		cfg.CodeCheckFloor = defaultCodeCheckFloor
	}
	if cfg.AuthenticatedGrace <= 0 {
		cfg.AuthenticatedGrace = defaultAuthenticatedGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ClientIPHeader == "" {
		cfg.ClientIPHeader = defaultClientIPHeader
	}
	if cfg.LinkRetryInterval <= 0 {
		cfg.LinkRetryInterval = defaultLinkRetryInterval
	}
	if cfg.PasswordRules == nil {
		cfg.PasswordRules = defaultPasswordRules()
	}
	if cfg.ResetLinksPerHour <= 0 {
		cfg.ResetLinksPerHour = defaultResetLinksPerHour
	}
	if cfg.SecuritySignInFloor <= 0 {
		cfg.SecuritySignInFloor = defaultSecuritySignInFloor
	}
	s := &Server{
		cfg: cfg, store: st, wf: wf, keys: keys, log: cfg.Logger,
		pages: template.Must(template.New("page").Parse(pageTemplate)),
		csp:   pageCSP(),

		passwords:     cfg.PasswordRules,
		passwordPages: template.Must(template.New("password").Parse(passwordTemplate)),
		signinPages:   template.Must(template.New("signin").Parse(signinTemplate)),
		signinCSP:     signinCSP(),
		forgotPages:   newForgotPages(),
		forgotWork:    newBackground(maxForgotWork, cfg.Logger),
		securityPages: template.Must(template.New("security").Parse(securityTemplate)),
		securityCSP:   securityCSP(),
		dummyChecks:   make(chan struct{}, 2*runtime.NumCPU()),
		now:           cfg.Now,
		bg:            newBackground(maxBackground, cfg.Logger),

		publicOrigin: originOf(cfg.PublicURL),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.importer = admin.NewImporter(st, s.now)
	s.consoleAdmins = admin.NewConsoleAdmins(st)
	s.policy = policies.NewRegistry(st)
	s.evaluations = make(chan struct{}, concurrentEvaluations)
	s.reviewer = policies.NewReviewer(cfg.PolicyReview)
	var err error
	if s.hosts, err = newHostPolicy(cfg.PublicURL, cfg.ListenAddr, cfg.AllowedHosts); err != nil {
		// Validate reports this at start; what parsed is still served.
		s.log.Error("invalid served hosts", "error", err)
	}
	if s.hosts.empty() {
		s.log.Error("no public URL, listen address or allowed host: every request but /healthz is refused (421)")
	}
	s.limits = newIPLimits(cfg)
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
		s.cfg.Metrics = cfg.Metrics
	}
	if s.metrics, err = newHTTPMetrics(cfg.Metrics); err != nil {
		// Only a registry holding other metrics of the same names; count
		// on a registry of our own rather than not at all.
		s.log.Error("register http metrics", "error", err)
		s.cfg.Metrics = prometheus.NewRegistry()
		s.metrics, _ = newHTTPMetrics(s.cfg.Metrics)
	}
	s.ready = health.NewReadiness(s.log, readinessChecks(st, wf, cfg.PluginsReady)...)
	if cfg.DevOutbox != "" {
		if s.devToken, err = secret.NewToken(); err != nil {
			// Without a token the outbox answers 403: closed, not open.
			s.log.Error("draw the dev outbox token", "error", err)
		}
	}
	if s.consolePage, err = consoleIndexPage(s.devToken); err != nil {
		s.log.Error("read console index", "error", err)
	}
	if s.consolePublic, err = consoleIndexPage(""); err != nil {
		s.log.Error("read console index", "error", err)
	}
	if s.openapi, err = openAPIFor(cfg.PublicURL); err != nil {
		// The embedded document is checked by tests; serve it unchanged.
		s.log.Error("add servers to openapi document", "error", err)
		s.openapi = []byte(openAPIDocument)
	}
	s.engine = s.routes()
	if wf != nil && st != nil {
		s.startLinkDispatcher()
	}
	return s
}

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler { return s.engine }

func (s *Server) routes() *gin.Engine {
	// Debug mode prints every route and a banner to stdout at start.
	if gin.Mode() != gin.ReleaseMode {
		gin.SetMode(gin.ReleaseMode)
	}
	e := gin.New()
	// Route on the escaped path so that an authid holding "/" can be
	// addressed as %2F; parameters are unescaped for the handlers.
	e.UseEscapedPath = true
	e.UnescapePathValues = true
	e.HandleMethodNotAllowed = true
	// The client IP (policy input, last_ip, per-IP limits) is the peer's
	// address, or the one header set by a trusted proxy.
	e.ForwardedByClientIP = true
	e.RemoteIPHeaders = []string{s.cfg.ClientIPHeader}
	if err := e.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		// Validate refuses this at start; a library caller gets the safe side.
		s.log.Error("invalid trusted proxies; trusting none", "error", err)
		_ = e.SetTrustedProxies(nil)
	}
	if s.cfg.Tracing != nil {
		// First, so that the span covers the whole request.
		e.Use(s.cfg.Tracing.middleware())
	}
	e.Use(s.metrics.observe, s.requestLog, s.recovery, s.checkHost, s.noStoreAdmin)
	e.NoRoute(func(c *gin.Context) { fail(c, http.StatusNotFound, "not found") })
	e.NoMethod(func(c *gin.Context) { fail(c, http.StatusMethodNotAllowed, "method not allowed") })

	e.GET(healthzPath, s.healthz)
	// Not limited per IP: orchestrators probe often from one address; a
	// flood costs one round of checks a second (see health.Readiness).
	e.GET(readyzPath, gin.WrapH(s.ready))
	e.GET(metricsPath, gin.WrapH(metricsHandler(s.cfg.Metrics)))
	e.GET("/openapi.json", s.openAPI)

	// Every route anyone can call is limited per client IP first.
	appLimit := s.perIP("app", s.limits.app, tooManyJSON)
	pageLimit := s.perIP("browser", s.limits.browser, s.tooManyPage)
	browserLimit := s.perIP("browser", s.limits.browser, tooManyJSON)
	signInLimit := s.perIP("signin", s.limits.signIn, tooManyJSON)

	e.POST("/v1/start", appLimit, s.limitBody, s.start)
	e.POST("/v1/check", appLimit, s.limitBody, s.check)

	link := attempt.LinkPath + ":token"
	e.GET(link, s.pageHeaders, pageLimit, s.showLink)
	e.POST(link, s.pageHeaders, pageLimit, s.limitBody, s.confirmLink)
	e.GET(attempt.SSOCallbackPath, s.pageHeaders, pageLimit, s.ssoCallback)
	welcome := attempt.WelcomePath + ":token"
	signin := attempt.PagePath + ":token"
	e.GET(signin, s.pageHeaders, pageLimit, s.showSignin)
	e.POST(signin, s.pageHeaders, pageLimit, s.limitBody, s.submitSignin)
	e.GET(welcome, s.pageHeaders, pageLimit, s.showPasswordLink(welcomeKind()))
	e.POST(welcome, s.pageHeaders, pageLimit, s.limitBody, s.setPasswordByLink(welcomeKind()))
	reset := attempt.ResetPath + ":token"
	e.GET(reset, s.pageHeaders, pageLimit, s.showPasswordLink(resetKind()))
	e.POST(reset, s.pageHeaders, pageLimit, s.limitBody, s.setPasswordByLink(resetKind()))
	forgot := ForgotPath + ":account"
	e.GET(forgot, s.pageHeaders, pageLimit, s.showForgot)
	e.POST(forgot, s.pageHeaders, pageLimit, s.limitBody, s.requestReset)
	recoverLink := attempt.RecoverPath + ":token"
	e.GET(recoverLink, s.pageHeaders, pageLimit, s.showRecover)
	e.POST(recoverLink, s.pageHeaders, pageLimit, s.limitBody, s.submitRecover)
	verify := attempt.VerifyPath + ":token"
	e.GET(verify, s.pageHeaders, pageLimit, s.showVerification)
	e.POST(verify, s.pageHeaders, pageLimit, s.limitBody, s.confirmVerification)

	// The security settings users manage themselves (security.go).
	security := e.Group(securityPath+":account", s.pageHeaders, pageLimit)
	security.GET("", s.showSecurity)
	security.POST("", s.limitBody, s.signInToSecurity)
	security.POST("/sign-out", s.limitBody, s.signOutOfSecurity)
	security.POST("/totp", s.limitBody, s.startSecurityEnrolment)
	security.POST("/totp/confirm", s.limitBody, s.confirmSecurityEnrolment)
	security.POST("/recovery-codes", s.limitBody, s.regenerateRecoveryCodes)
	security.POST("/reset-two-factor", s.limitBody, s.resetOwnTwoFactor)
	security.POST("/verify-email", s.limitBody, s.requestEmailVerification)
	security.POST("/password", s.limitBody, s.changeOwnPassword)

	// Console sign-in and its session: outside the admin group, which
	// needs a key or a session already.
	e.POST("/v1/admin/session", signInLimit, s.limitBody, s.startConsoleSignIn)
	e.POST("/v1/admin/session/check", browserLimit, s.limitBody, s.checkConsoleSignIn)
	e.GET("/v1/admin/session", s.sessionOnly, s.getConsoleSession)
	e.DELETE("/v1/admin/session", s.sessionOnly, s.deleteConsoleSession)
	e.GET("/v1/admin/dev/outbox", s.devOutbox)
	s.consoleRoutes(e)

	// scopeOrganisation runs after adminKey: ?organisation=ID turns the
	// caller's account into that descendant for every route below.
	admin := e.Group("/v1/admin", s.limitBody, s.adminKey, s.scopeOrganisation)
	admin.POST("/systems", s.createSystem)
	admin.GET("/systems", s.listSystems)
	admin.GET("/systems/:name", s.getSystem)
	admin.PATCH("/systems/:name", s.updateSystem)
	admin.DELETE("/systems/:name", s.deleteSystem)
	admin.GET("/systems/:name/messages", s.getMessages)
	admin.PUT("/systems/:name/messages", s.putMessages)
	admin.DELETE("/systems/:name/messages/:message/:part", s.deleteMessagePart)

	admin.GET("/messages", s.getMessages)
	admin.PUT("/messages", s.putMessages)
	admin.DELETE("/messages/:message/:part", s.deleteMessagePart)
	admin.POST("/messages/preview", s.previewMessage)

	admin.POST("/users", s.createUser)
	admin.GET("/users", s.listUsers)
	admin.GET("/export/users", s.exportUsers)                       // not under /users/: it would hide a user whose authid is "export"
	admin.POST("/users/import", s.freshWhenApplying, s.importUsers) // body limit: see bodyLimit
	admin.POST("/users/email-login", s.emailLoginActions)
	admin.GET("/users/:authid", s.getUser)
	admin.PATCH("/users/:authid", s.updateUser)
	admin.DELETE("/users/:authid", s.deleteUser)
	admin.GET("/users/:authid/systems", s.getAssignments)
	admin.PUT("/users/:authid/systems", s.setAssignments)
	admin.POST("/users/:authid/move", s.requireFresh, s.moveUser)
	admin.POST("/users/:authid/totp", s.requireFresh, s.startTOTP)
	admin.POST("/users/:authid/totp/verify", s.requireFresh, s.verifyTOTP)
	admin.DELETE("/users/:authid/totp", s.requireFresh, s.resetTwoFactor)
	admin.POST("/users/:authid/recovery-codes", s.requireFresh, s.createRecoveryCodes)
	admin.POST("/users/:authid/password-reset", s.sendPasswordReset)
	admin.DELETE("/users/:authid/lockout", s.requireFresh, s.clearLockout)
	admin.GET("/users/:authid/attempts", s.userAttempts)
	admin.GET("/users/:authid/sign-in-methods", s.getSignInMethods)
	admin.GET("/users/:authid/sso", s.getSSOIdentity)
	admin.PUT("/users/:authid/sso", s.requireFresh, s.putSSOIdentity)
	admin.DELETE("/users/:authid/sso", s.requireFresh, s.deleteSSOIdentity)
	admin.GET("/stats", s.stats)

	admin.GET("/audit", s.listAudit)

	admin.GET("/policy", s.getPolicy)
	admin.POST("/policy", s.requireFresh, s.uploadPolicy) // body limit: see bodyLimit
	admin.POST("/policy/rollback", s.requireFresh, s.rollbackPolicy)
	admin.POST("/policy/evaluate", s.evaluatePolicy)
	admin.GET("/policy/effective", s.policyEffective)

	admin.GET("/account", s.getAccount)
	admin.PATCH("/account", s.requireFresh, s.updateAccount)

	admin.POST("/keys", s.requireFresh, s.createKey)
	admin.GET("/keys", s.listKeys)
	admin.DELETE("/keys/:id", s.requireFresh, s.revokeKey)

	admin.POST("/organisations", s.createOrganisation)
	admin.GET("/organisations", s.listOrganisations)
	admin.PATCH("/organisations/:id", s.updateOrganisation) // a move needs a fresh sign-in (see updateOrganisation)
	admin.DELETE("/organisations/:id", s.requireFresh, s.deleteOrganisation)
	return e
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// fail aborts with a JSON error body.
func fail(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}

// failf is fail with a formatted message.
func failf(c *gin.Context, status int, format string, args ...any) {
	fail(c, status, fmt.Sprintf(format, args...))
}

// internalError logs err and answers 500 without details: the client can
// do nothing about it, and the message could reveal internals.
func (s *Server) internalError(c *gin.Context, what string, err error) {
	s.log.ErrorContext(c.Request.Context(), what, "error", err, "path", redactPath(c.Request.URL.Path))
	fail(c, http.StatusInternalServerError, "internal error")
}

// unavailable logs err and answers 503: Temporal did not answer in time.
func (s *Server) unavailable(c *gin.Context, what string, err error) {
	s.log.ErrorContext(c.Request.Context(), what, "error", err, "path", redactPath(c.Request.URL.Path))
	fail(c, http.StatusServiceUnavailable, "service unavailable")
}
