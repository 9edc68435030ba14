// Package oidctest runs a real OpenID Connect provider on loopback for
// tests: discovery, JWKS, an authorization endpoint that approves at once
// and a token endpoint that checks the client, the redirect URI and PKCE
// and signs RS256 ID tokens. Its knobs make it misbehave the ways a relying
// party must catch (bad signature, wrong audience, expired token...).
// NewEntra starts one that behaves like Microsoft Entra ID.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Provider is a minimal OpenID Connect provider on loopback: discovery,
// JWKS, an authorization endpoint that approves at once (the user is the
// login_hint, or ada) and a token endpoint that checks the client, the
// redirect URI and PKCE, and signs ID tokens with RS256. Its knobs make it
// misbehave the ways a verifier must catch.
type Provider struct {
	srv      *httptest.Server
	key      *rsa.PrivateKey // published in the JWKS
	otherKey *rsa.PrivateKey // not published

	ClientID, Secret string

	// entra is set by NewEntra; users are the provider's users by email
	// (or user principal name), def the one approved without a known
	// login_hint.
	entra bool
	users map[string]User
	def   string

	mu     sync.Mutex
	grants map[string]grant
	// Knobs, set by tests before the token request.
	SignWithOther bool          // sign with otherKey (same kid): bad signature
	Audience      string        // aud instead of ClientID
	Lifetime      time.Duration // exp - iat; default 5 minutes, negative: expired
	TokenStatus   int           // answer the token request with this status
	JWKSStatus    int           // answer the JWKS request with this status
	PostOnly      bool          // client_secret_post only (set before Configure)
	ExtraClaims   map[string]any
	OmitClaims    []string // claims left out of the ID token (after ExtraClaims)
	LoginAs       string   // approve as this user (a key of the provider's users), whatever the login_hint
	// issued are the ID tokens minted, to check they are never logged.
	issued []string
	// access are the access tokens granted: the fake Graph (graph.go)
	// answers for them only.
	access map[string]grant
}

type grant struct {
	nonce, challenge, redirect, user, scope string
}

// User is someone the provider knows. OID and UPN are Entra ID's object ID
// and user principal name (preferred_username); Email may be empty there.
// JobTitle, MobilePhone and BusinessPhones are the user's profile in the
// Entra directory, as Microsoft Graph shows it ("" is null there).
type User struct {
	Sub, Email, Name, OID, UPN string
	JobTitle, MobilePhone      string
	BusinessPhones             []string
}

// Users are the provider's users, by email.
func Users() map[string]User {
	return map[string]User{
		"ada@example.com":  {Sub: "00u-ada-1815", Email: "ada@example.com", Name: "Ada Lovelace"},
		"alan@example.org": {Sub: "00u-alan-1912", Email: "alan@example.org", Name: "Alan Turing"},
	}
}

// The Entra ID tenant of NewEntra: its ID, and a domain that names it too.
const (
	EntraTenantID     = "4a5b6c7d-1111-4222-8333-944455556666"
	EntraTenantDomain = "contoso.example"
	// EntraOtherTenantID is a tenant the plugin is not configured for.
	EntraOtherTenantID = "0f0e0d0c-aaaa-4bbb-8ccc-0d0e0f000102"
)

// EntraUsers are the users of NewEntra's tenant, by login_hint. Megan is a
// member whose addresses are in the tenant's domain contoso.example, with a
// job title and a business phone; Lee a member whose email is at
// partner.example (a domain the tenant does not own), with a mobile phone
// besides his business one; Grace a guest from fabrikam.example, whose
// profile is empty.
func EntraUsers() map[string]User {
	return map[string]User{
		"megan@contoso.example": {OID: "6e1a3f0c-5b7d-4e2a-9c41-0b5d7e9f1a01", Email: "megan@contoso.example", UPN: "megan@contoso.example", Name: "Megan Bowen",
			JobTitle: "Marketing Manager", BusinessPhones: []string{"+1 412 555 0109"}},
		"lee@partner.example": {OID: "8c2b4d1e-7a6f-4b3c-8d52-1c6e8fa02b02", Email: "lee@partner.example", UPN: "lee@contoso.onmicrosoft.com", Name: "Lee Gu",
			JobTitle: "Director", MobilePhone: "+1 425 555 0105", BusinessPhones: []string{"+1 913 555 0101"}},
		"grace@fabrikam.example": {OID: "9d3c5e2f-8b7a-4c4d-9e63-2d7f9ab13c03", Email: "grace@fabrikam.example",
			UPN: "grace_fabrikam.example#EXT#@contoso.onmicrosoft.com", Name: "Grace Taylor"},
	}
}

// New starts a provider on loopback, closed when the test ends.
func New(t *testing.T) *Provider {
	t.Helper()
	p := newProvider(t, Users(), "ada@example.com")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// NewEntra starts a provider that behaves like Microsoft Entra ID for the
// tenant EntraTenantID (also known as EntraTenantDomain), on loopback as
// the authority: issuer <authority>/<tenant ID>/v2.0, discovery under the
// tenant ID or domain (answering with the ID, as Entra does), Entra's
// endpoint paths, and ID tokens with tid, oid, preferred_username, ver, a
// pairwise sub (per client) and no email_verified. Grace's tokens carry the
// idp of her home tenant. xms_edov is optional in Entra: set it with
// ExtraClaims.
func NewEntra(t *testing.T) *Provider {
	t.Helper()
	p := newProvider(t, EntraUsers(), "megan@contoso.example")
	p.entra = true
	mux := http.NewServeMux()
	tenant := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if t := r.PathValue("tenant"); t != EntraTenantID && !strings.EqualFold(t, EntraTenantDomain) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", tenant(p.discovery))
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", tenant(p.jwks))
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", tenant(p.authorize))
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", tenant(p.token))
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func newProvider(t *testing.T, users map[string]User, def string) *Provider {
	t.Helper()
	gen := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return &Provider{key: gen(), otherKey: gen(), ClientID: "flexauth-test", Secret: "s3cr3t-client",
		grants: map[string]grant{}, access: map[string]grant{}, users: users, def: def}
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string {
	if p.entra {
		return p.Authority() + "/" + EntraTenantID + "/v2.0"
	}
	return p.srv.URL
}

// Authority is an Entra provider's authority (the oidc plugin's
// "authority"): the loopback server's URL.
func (p *Provider) Authority() string { return p.srv.URL }

// AuthorizationEndpoint is where the provider's authorization URLs lead.
func (p *Provider) AuthorizationEndpoint() string {
	if p.entra {
		return p.Authority() + "/" + EntraTenantID + "/oauth2/v2.0/authorize"
	}
	return p.Issuer() + "/authorize"
}

// Config is the oidc plugin configuration for this provider: its issuer,
// or for an Entra provider its tenant (by ID) and authority, with the
// Microsoft Graph lookup off, so that no test reaches the real Graph (set
// graph_url to a NewGraph's URL to have one).
func (p *Provider) Config() map[string]string {
	if p.entra {
		return map[string]string{"tenant": EntraTenantID, "authority": p.Authority(), "client_id": p.ClientID, "client_secret": p.Secret,
			"graph_url": "off"}
	}
	return map[string]string{"issuer": p.Issuer(), "client_id": p.ClientID, "client_secret": p.Secret}
}

// Subject is the sub the provider gives u: Sub, or for an Entra provider a
// pairwise value derived from the client and the object ID.
func (p *Provider) Subject(u User) string {
	if !p.entra {
		return u.Sub
	}
	sum := sha256.Sum256([]byte(p.ClientID + "|" + u.OID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	token, keys := p.Issuer()+"/token", p.Issuer()+"/keys"
	if p.entra {
		token = p.Authority() + "/" + EntraTenantID + "/oauth2/v2.0/token"
		keys = p.Authority() + "/" + EntraTenantID + "/discovery/v2.0/keys"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer(),
		"authorization_endpoint":                p.AuthorizationEndpoint(),
		"token_endpoint":                        token,
		"jwks_uri":                              keys,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": p.authMethods(),
	})
}

func (p *Provider) authMethods() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.PostOnly {
		return []string{"client_secret_post"}
	}
	return []string{"client_secret_basic", "client_secret_post"}
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	status := p.JWKSStatus
	p.mu.Unlock()
	if status != 0 {
		http.Error(w, "keys unavailable", status)
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "PKCE S256 required", http.StatusBadRequest)
		return
	case q.Get("nonce") == "" || q.Get("state") == "" || q.Get("redirect_uri") == "":
		http.Error(w, "nonce, state and redirect_uri required", http.StatusBadRequest)
		return
	}
	user := q.Get("login_hint")
	if _, ok := p.users[user]; !ok {
		user = p.def
	}
	p.mu.Lock()
	if p.LoginAs != "" {
		user = p.LoginAs
	}
	p.mu.Unlock()
	code := RandomString()
	p.mu.Lock()
	p.grants[code] = grant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), user: user, scope: q.Get("scope")}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.TokenStatus != 0 {
		writeJSON(w, p.TokenStatus, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok && p.PostOnly {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "client_secret_basic not supported"})
		return
	}
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || secret != p.Secret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	code := r.PostForm.Get("code")
	g, ok := p.grants[code]
	delete(p.grants, code) // single use
	if !ok || g.redirect != r.PostForm.Get("redirect_uri") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "unknown code or redirect_uri mismatch"})
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		return
	}
	u := p.users[g.user]
	aud := p.ClientID
	if p.Audience != "" {
		aud = p.Audience
	}
	life := p.Lifetime
	if life == 0 {
		life = 5 * time.Minute
	}
	now := time.Now()
	if life < 0 {
		now = now.Add(2 * life) // issued in the past, expired since
	}
	claims := map[string]any{
		"iss": p.Issuer(), "sub": p.Subject(u), "aud": aud,
		"iat": now.Unix(), "exp": now.Add(life).Unix(), "nonce": g.nonce,
		"email": u.Email, "email_verified": true, "name": u.Name,
		"tid": "9188040d-6c67-4c5b-b112-36a304b66dad", "groups": []string{"admins"},
	}
	if p.entra {
		// Entra ID: no email_verified; email only when the user has one.
		claims = map[string]any{
			"iss": p.Issuer(), "sub": p.Subject(u), "aud": aud, "ver": "2.0",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix(), "nonce": g.nonce,
			"tid": EntraTenantID, "oid": u.OID, "preferred_username": u.UPN, "name": u.Name,
		}
		if u.Email != "" {
			claims["email"] = u.Email
		}
		if strings.Contains(u.UPN, "#EXT#") {
			claims["idp"] = "https://sts.windows.net/" + EntraOtherTenantID + "/"
		}
	}
	for k, v := range p.ExtraClaims {
		claims[k] = v
	}
	for _, k := range p.OmitClaims {
		delete(claims, k)
	}
	key := p.key
	if p.SignWithOther {
		key = p.otherKey
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	idToken, _ := jws.CompactSerialize()
	p.issued = append(p.issued, idToken)
	accessToken := "at-" + RandomString()
	p.access[accessToken] = g
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": accessToken, "token_type": "Bearer", "expires_in": 300, "id_token": idToken, "scope": g.scope,
	})
}

// Close stops the provider (it is gone: requests to it fail).
func (p *Provider) Close() { p.srv.Close() }

// Set changes knobs under the provider's lock.
func (p *Provider) Set(f func(p *Provider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// AccessTokens are the access tokens granted so far.
func (p *Provider) AccessTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for at := range p.access {
		out = append(out, at)
	}
	return out
}

// accessGrant returns the user an access token was granted to and the
// scopes granted with it.
func (p *Provider) accessGrant(at string) (User, []string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.access[at]
	if !ok {
		return User{}, nil, false
	}
	return p.users[g.user], strings.Fields(g.scope), true
}

// Tokens are the ID tokens minted so far.
func (p *Provider) Tokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.issued...)
}

// RandomString is 32 random bytes, base64url.
func RandomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PKCE returns a verifier and its S256 challenge.
func PKCE() (verifier, challenge string) {
	verifier = RandomString()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// Browse plays the user's browser: it follows the authorization URL to the
// provider, which approves at once, and returns the code and state it
// redirects back with.
func Browse(t testing.TB, authURL, redirectURI string) (code, state string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatalf("browse to the authorization URL: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization endpoint answered %s, want a redirect", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %s, want %s", got, redirectURI)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}
