package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Name is the plugin's name, as reported by Info.
const Name = "oidc"

const version = "1.0.0"

// Configuration keys.
const (
	keyIssuer         = "issuer"
	keyTenant         = "tenant"
	keyClientID       = "client_id"
	keyClientSecret   = "client_secret"
	keyScopes         = "scopes"
	keyAllowedDomains = "allowed_domains"
	// Entra ID only (with tenant).
	keyAuthority       = "authority"
	keyVerifiedDomains = "verified_domains"
	keyGraphURL        = "graph_url"
)

// settings are the operator's keys as given, decoded by the SDK, which
// refuses any other key.
type settings struct {
	Issuer         string `config:"issuer"`
	Tenant         string `config:"tenant"`
	ClientID       string `config:"client_id"`
	ClientSecret   string `config:"client_secret"`
	Scopes         string `config:"scopes"`
	AllowedDomains string `config:"allowed_domains"`
	// Entra ID only (with tenant).
	Authority       string `config:"authority"`
	VerifiedDomains string `config:"verified_domains"`
	GraphURL        string `config:"graph_url"`
}

const defaultScopes = "openid email profile"

// googleIssuer is Google's issuer: a provider configured with it is
// reported as sdk.ProviderGoogle.
const googleIssuer = "https://accounts.google.com"

// entraAuthority is Entra ID's global authority host; national clouds
// have their own (authority).
const entraAuthority = "https://login.microsoftonline.com"

// httpTimeout bounds every request to the provider, whatever the caller's
// deadline.
const httpTimeout = 30 * time.Second

// Plugin signs users on through one OpenID Connect provider. It is safe
// for concurrent use.
type Plugin struct {
	logger *slog.Logger
	client *http.Client
	// cfg is nil until configured; replaced whole by Configure.
	cfg atomic.Pointer[provider]
}

// provider is one accepted configuration, discovered.
type provider struct {
	issuer   string
	oauth    oauth2.Config // RedirectURL is set per call
	verifier *gooidc.IDTokenVerifier
	// allowed are the accepted email domains, lower case; empty accepts
	// every email (and none).
	allowed []string
	// entra is set for an Entra ID tenant: its tokens are checked and read
	// as Entra's (see entra.go).
	entra *entraTenant
}

var (
	_ sdk.IdentityProvider = (*Plugin)(nil)
	_ sdk.SignOn           = (*Plugin)(nil)
)

// New returns an unconfigured Plugin logging through sdk.Logger.
func New() *Plugin { return NewWithLogger(sdk.Logger()) }

// NewWithLogger is New with another logger (tests, or running the plugin
// inside a process that is not a plugin).
func NewWithLogger(logger *slog.Logger) *Plugin {
	return &Plugin{logger: logger, client: &http.Client{Timeout: httpTimeout}}
}

// Info describes the plugin: it signs users on, it does not look them up.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: Name, Version: version, Kind: sdk.KindIdentity, Capabilities: []string{sdk.CapabilitySignOn}}, nil
}

// Configure checks the configuration and discovers the provider. A
// configuration is replaced only by one that is accepted.
func (p *Plugin) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	c, err := parseConfig(req.Config)
	if err != nil {
		return sdk.Permanent(err)
	}
	// The provider keeps this context (without its cancellation) to fetch
	// the signing keys later, so it carries the plugin's HTTP client.
	clientCtx := gooidc.ClientContext(ctx, p.client)
	prov, err := gooidc.NewProvider(clientCtx, c.issuer)
	var entra *entraTenant
	if c.entra != nil {
		prov, entra, err = c.entra.discovered(clientCtx, c.issuer, prov, err)
	}
	if err != nil {
		return discoveryError(ctx, c.issuer, err)
	}
	endpoint := prov.Endpoint()
	if endpoint.AuthURL == "" || endpoint.TokenURL == "" {
		return sdk.Permanent(fmt.Errorf("provider %s: discovery document lacks authorization_endpoint or token_endpoint", c.issuer))
	}
	endpoint.AuthStyle = authStyle(prov, c.clientSecret)
	p.cfg.Store(&provider{
		issuer: c.issuer,
		oauth: oauth2.Config{
			ClientID:     c.clientID,
			ClientSecret: c.clientSecret,
			Endpoint:     endpoint,
			Scopes:       c.scopes,
		},
		verifier: prov.Verifier(&gooidc.Config{ClientID: c.clientID}),
		allowed:  c.allowed,
		entra:    entra,
	})
	attrs := []any{"issuer", c.issuer, "client_id", c.clientID,
		"scopes", strings.Join(c.scopes, " "), "allowed_domains", strings.Join(c.allowed, ",")}
	if entra != nil {
		graph := entra.graphURL
		if graph == "" {
			graph = graphOff
		}
		attrs = append(attrs, "tenant_id", entra.tenantID, "verified_domains", strings.Join(entra.verified, ","), "graph_url", graph)
	}
	p.logger.Info("oidc provider discovered", attrs...)
	return nil
}

// authStyle chooses how the client authenticates to the token endpoint.
// Never oauth2's auto-detection: it retries a refused request the other
// way, sending the single-use code twice, which turns a clear refusal
// (e.g. "PKCE verification failed") into "unknown code".
func authStyle(prov *gooidc.Provider, secret string) oauth2.AuthStyle {
	if secret == "" {
		return oauth2.AuthStyleInParams // public client: client_id in the form
	}
	var meta struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = prov.Claims(&meta)
	// client_secret_basic is the default when the provider lists none.
	if len(meta.Methods) == 0 || slices.Contains(meta.Methods, "client_secret_basic") || !slices.Contains(meta.Methods, "client_secret_post") {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

type config struct {
	issuer, clientID, clientSecret string
	scopes, allowed                []string
	entra                          *entraConfig // set by tenant
}

func parseConfig(m map[string]string) (config, error) {
	var in settings
	// All values are strings, so decoding fails only on unknown keys; the
	// known ones are checked below all the same, to report every mistake.
	errs := []error{sdk.ConfigureRequest{Config: m}.Decode(&in)}
	var c config
	issuer := strings.TrimSpace(in.Issuer)
	tenant := strings.TrimSpace(in.Tenant)
	switch {
	case issuer != "" && tenant != "":
		errs = append(errs, fmt.Errorf("set %q or %q, not both (%q names an Entra ID national cloud)", keyIssuer, keyTenant, keyAuthority))
	case issuer != "":
		if err := checkIssuer(keyIssuer, issuer); err != nil {
			errs = append(errs, err)
		}
		c.issuer = issuer
	case tenant != "":
		e, err := parseEntra(tenant, in)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.entra = &e
			c.issuer = e.issuer()
		}
	default:
		errs = append(errs, fmt.Errorf("missing %q (or %q for Entra ID)", keyIssuer, keyTenant))
	}
	if tenant == "" {
		for _, kv := range [][2]string{{keyAuthority, in.Authority}, {keyVerifiedDomains, in.VerifiedDomains}, {keyGraphURL, in.GraphURL}} {
			if strings.TrimSpace(kv[1]) != "" {
				errs = append(errs, fmt.Errorf("%q applies to Entra ID only: set %q", kv[0], keyTenant))
			}
		}
	}
	if c.clientID = strings.TrimSpace(in.ClientID); c.clientID == "" {
		errs = append(errs, fmt.Errorf("missing %q", keyClientID))
	}
	// A secret is optional: a public client relies on PKCE alone.
	c.clientSecret = in.ClientSecret

	scopes := in.Scopes
	if strings.TrimSpace(scopes) == "" {
		scopes = defaultScopes
		if c.entra != nil && c.entra.graphURL != "" {
			// Graph's /me needs it (graph.go); Entra grants it to every
			// user without an administrator's consent.
			scopes += " " + graphScope
		}
	}
	c.scopes = splitList(scopes, " ,")
	if !slices.Contains(c.scopes, gooidc.ScopeOpenID) {
		c.scopes = append([]string{gooidc.ScopeOpenID}, c.scopes...)
	}
	var err error
	if c.allowed, err = parseDomains(keyAllowedDomains, in.AllowedDomains); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// parseDomains reads a comma-separated list of email domains, lower case.
func parseDomains(key, list string) ([]string, error) {
	var out []string
	var errs []error
	for _, d := range splitList(list, ",") {
		d = strings.ToLower(strings.TrimPrefix(d, "@"))
		if strings.ContainsAny(d, "@/ ") || !strings.Contains(d, ".") {
			errs = append(errs, fmt.Errorf("%s: %q is not a domain", key, d))
			continue
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

func splitList(s, seps string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// checkIssuer accepts an https URL, or an http one on a loopback address,
// as the value of key.
func checkIssuer(key, issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s %q is not an absolute URL without query or fragment", key, issuer)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s %q: http is allowed only on a loopback address; use https", key, issuer)
	}
	return fmt.Errorf("%s %q: scheme must be https", key, issuer)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// discoveryError classifies a failed discovery: the provider unreachable
// or failing is temporary, an issuer that is not (this) OIDC provider is
// permanent.
func discoveryError(ctx context.Context, issuer string, err error) error {
	err = fmt.Errorf("discover provider %s: %w", issuer, err)
	var mismatch *gooidc.IssuerMismatchError
	var uerr *url.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	case errors.As(err, &mismatch):
		return sdk.Permanent(err)
	case errors.As(err, &uerr):
		return err // unreachable: temporary
	}
	// go-oidc reports an HTTP failure as "<status line>: <body>".
	if code := leadingStatus(errors.Unwrap(err).Error()); code != 0 {
		if code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout {
			return err
		}
		return sdk.Permanent(err)
	}
	// Not a discovery document: the issuer is wrong.
	return sdk.Permanent(err)
}

func leadingStatus(msg string) int {
	if len(msg) < 4 || msg[3] != ' ' {
		return 0
	}
	code, err := strconv.Atoi(msg[:3])
	if err != nil || code < 100 || code > 599 {
		return 0
	}
	return code
}

// Lookup knows no users: the plugin signs users on, it does not list them.
func (p *Plugin) Lookup(context.Context, sdk.LookupRequest) (sdk.Identity, error) {
	return sdk.Identity{Found: false}, nil
}

func (p *Plugin) configured() (*provider, error) {
	c := p.cfg.Load()
	if c == nil {
		return nil, sdk.Permanent(fmt.Errorf("not configured: missing %q", keyIssuer))
	}
	return c, nil
}

// challengeRE is an S256 PKCE challenge: 32 bytes, base64url, unpadded.
var challengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// Authorize returns the provider's authorization-code URL for req.
func (p *Plugin) Authorize(_ context.Context, req sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error) {
	c, err := p.configured()
	if err != nil {
		return sdk.AuthorizeResponse{}, err
	}
	var errs []error
	if req.State == "" {
		errs = append(errs, errors.New("missing state"))
	}
	if req.Nonce == "" {
		errs = append(errs, errors.New("missing nonce"))
	}
	if !challengeRE.MatchString(req.CodeChallenge) {
		errs = append(errs, errors.New("code_challenge is not an S256 PKCE challenge (43 base64url characters)"))
	}
	if err := checkRedirect(req.RedirectURI); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return sdk.AuthorizeResponse{}, sdk.Permanent(err)
	}
	oc := c.oauth
	oc.RedirectURL = req.RedirectURI
	opts := []oauth2.AuthCodeOption{
		gooidc.Nonce(req.Nonce),
		oauth2.SetAuthURLParam("code_challenge", req.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"),
	}
	if req.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", req.LoginHint))
	}
	return sdk.AuthorizeResponse{URL: oc.AuthCodeURL(req.State, opts...)}, nil
}

func checkRedirect(raw string) error {
	if raw == "" {
		return errors.New("missing redirect_uri")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return errors.New("redirect_uri is not an absolute http(s) URL without fragment")
	}
	return nil
}

// Exchange redeems req.Code, verifies the ID token and returns its claims.
func (p *Plugin) Exchange(ctx context.Context, req sdk.ExchangeRequest) (sdk.Claims, error) {
	c, err := p.configured()
	if err != nil {
		return sdk.Claims{}, err
	}
	var errs []error
	if req.Code == "" {
		errs = append(errs, errors.New("missing code"))
	}
	if req.CodeVerifier == "" {
		errs = append(errs, errors.New("missing code_verifier"))
	}
	if req.Nonce == "" {
		errs = append(errs, errors.New("missing nonce"))
	}
	if err := checkRedirect(req.RedirectURI); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return sdk.Claims{}, sdk.Permanent(err)
	}

	oc := c.oauth
	oc.RedirectURL = req.RedirectURI
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), req.Code, oauth2.VerifierOption(req.CodeVerifier))
	if err != nil {
		return sdk.Claims{}, p.refused(ctx, c, tokenError(ctx, err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return sdk.Claims{}, p.refused(ctx, c, sdk.Permanent(errors.New("the token response has no id_token (is the openid scope granted?)")))
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return sdk.Claims{}, p.refused(ctx, c, verifyError(ctx, err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(req.Nonce)) != 1 {
		return sdk.Claims{}, p.refused(ctx, c, sdk.Permanent(errors.New("ID token refused: its nonce is not the sign-in's (replayed or mixed-up response)")))
	}
	claims, verifiedSent, err := claimsOf(idt)
	if err != nil {
		return sdk.Claims{}, p.refused(ctx, c, sdk.Permanent(err))
	}
	if c.entra != nil {
		// Entra ID sends no email_verified: it vouches for the tenant and
		// its verified domains instead.
		if claims, err = c.entra.vouch(claims); err != nil {
			return sdk.Claims{}, p.refused(ctx, c, sdk.Permanent(err))
		}
	} else if claims.EmailVerified {
		claims.EmailProof = sdk.EmailProofClaim
	}
	if err := c.checkDomain(claims, verifiedSent); err != nil {
		// A genuine token for someone not admitted: refused, not forged.
		return sdk.Claims{}, p.refused(ctx, c, sdk.Refused(err))
	}
	claims.Provider = c.kind()
	if c.entra != nil && c.entra.graphURL != "" {
		// Only for a sign-in that succeeds: its access token reads the
		// user's own profile, and nothing is read for a refused one.
		claims = p.withGraphProfile(ctx, c.entra.graphURL, tok.AccessToken, claims)
	}
	p.logger.Info("oidc sign-in verified", "issuer", claims.Issuer, "subject", claims.Subject)
	return claims, nil
}

// kind is the provider kind the configuration names (sdk.Claims.Provider).
func (c *provider) kind() string {
	switch {
	case c.entra != nil:
		return sdk.ProviderEntra
	case c.issuer == googleIssuer:
		return sdk.ProviderGoogle
	}
	return ""
}

// refused logs why a sign-in failed (the error never holds a code or a
// token) and returns err.
func (p *Plugin) refused(ctx context.Context, c *provider, err error) error {
	if ctx.Err() == nil {
		p.logger.Warn("oidc sign-in failed", "issuer", c.issuer, "permanent", errors.Is(err, sdk.ErrPermanent), "error", err)
	}
	return err
}

// tokenError classifies a failed code redemption. The provider's error
// body is not quoted beyond its OAuth error code and description.
func tokenError(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		why := re.ErrorCode
		if re.ErrorDescription != "" {
			why += ": " + re.ErrorDescription
		}
		if why == "" {
			why = "no OAuth error code"
		}
		if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
			return fmt.Errorf("token endpoint failed (HTTP %d, %s)", status, why)
		}
		return sdk.Permanent(fmt.Errorf("the provider refused the code (HTTP %d, %s)", status, why))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// The url.Error names the token endpoint, never the form.
		return fmt.Errorf("token endpoint unreachable: %w", uerr.Err)
	}
	// A malformed token response (oauth2 reports it unwrapped): the
	// provider misbehaving, which may pass.
	return fmt.Errorf("redeem code: %w", err)
}

// verifyError classifies a failed ID token verification: the keys being
// unreachable is temporary, everything else is the token being refused.
func verifyError(ctx context.Context, err error) error {
	var expired *gooidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return sdk.Permanent(fmt.Errorf("ID token refused: expired at %s", expired.Expiry.UTC().Format(time.RFC3339)))
	case ctx.Err() != nil:
		return ctx.Err()
	case strings.Contains(err.Error(), "fetching keys"):
		// go-oidc could not fetch the JWKS (its error is not typed).
		return fmt.Errorf("ID token not verified: cannot fetch the provider's signing keys: %w", err)
	}
	return sdk.Permanent(fmt.Errorf("ID token refused: %w", err))
}

// standardClaims are the ID token's claims that are not passed in
// Claims.Extra: protocol fields, and those Claims has fields for.
var standardClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti", "auth_time", "email", "email_verified", "name"}

// claimsOf also reports whether the token had an email_verified claim.
func claimsOf(idt *gooidc.IDToken) (sdk.Claims, bool, error) {
	var all map[string]json.RawMessage
	if err := idt.Claims(&all); err != nil {
		return sdk.Claims{}, false, fmt.Errorf("ID token refused: claims: %w", err)
	}
	c := sdk.Claims{Subject: idt.Subject, Issuer: idt.Issuer}
	if c.Subject == "" {
		return sdk.Claims{}, false, errors.New("ID token refused: no subject")
	}
	str := func(raw json.RawMessage) (string, bool) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
		return string(raw), false
	}
	if raw, ok := all["email"]; ok {
		c.Email, _ = str(raw)
	}
	if raw, ok := all["name"]; ok {
		c.Name, _ = str(raw)
	}
	rawVerified, verifiedSent := all["email_verified"]
	if raw := rawVerified; verifiedSent {
		// A bool, or the string "true" from some providers.
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			c.EmailVerified = b
		} else if s, ok := str(raw); ok {
			c.EmailVerified = strings.EqualFold(s, "true")
		}
	}
	for k, raw := range all {
		if slices.Contains(standardClaims, k) {
			continue
		}
		if c.Extra == nil {
			c.Extra = map[string]string{}
		}
		c.Extra[k], _ = str(raw)
	}
	return c, verifiedSent, nil
}

// checkDomain applies allowed_domains: the email must be in one of them,
// and not explicitly unverified. (Entra ID sends no email_verified; its
// tokens are admitted on the domain alone, and flexauth binds a first
// sign-on only on what vouch found.)
func (c *provider) checkDomain(claims sdk.Claims, verifiedSent bool) error {
	if len(c.allowed) == 0 {
		return nil
	}
	at := strings.LastIndexByte(claims.Email, '@')
	if at < 0 {
		return errors.New("sign-in refused: allowed_domains is set and the ID token has no email")
	}
	domain := strings.ToLower(claims.Email[at+1:])
	if !slices.Contains(c.allowed, domain) {
		return fmt.Errorf("sign-in refused: email domain %q is not in allowed_domains", domain)
	}
	if verifiedSent && !claims.EmailVerified {
		return errors.New("sign-in refused: email not verified")
	}
	return nil
}
