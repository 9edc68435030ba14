package oidc_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testProvider is a minimal OpenID Connect provider on loopback: discovery,
// JWKS, an authorization endpoint that approves at once (the user is the
// login_hint, or ada) and a token endpoint that checks the client, the
// redirect URI and PKCE, and signs ID tokens with RS256. Its knobs make it
// misbehave the ways a verifier must catch.
type testProvider struct {
	srv      *httptest.Server
	key      *rsa.PrivateKey // published in the JWKS
	otherKey *rsa.PrivateKey // not published

	clientID, secret string

	mu     sync.Mutex
	grants map[string]grant
	// Knobs, set by tests before the token request.
	signWithOther bool          // sign with otherKey (same kid): bad signature
	audience      string        // aud instead of clientID
	lifetime      time.Duration // exp - iat; default 5 minutes, negative: expired
	tokenStatus   int           // answer the token request with this status
	jwksStatus    int           // answer the JWKS request with this status
	postOnly      bool          // client_secret_post only (set before Configure)
	extraClaims   map[string]any
	// issued are the ID tokens minted, to check they are never logged.
	issued []string
}

type grant struct {
	nonce, challenge, redirect, user string
}

type testUser struct{ sub, email, name string }

var testUsers = map[string]testUser{
	"ada@example.com":  {sub: "00u-ada-1815", email: "ada@example.com", name: "Ada Lovelace"},
	"alan@example.org": {sub: "00u-alan-1912", email: "alan@example.org", name: "Alan Turing"},
}

func newTestProvider(t *testing.T) *testProvider {
	t.Helper()
	gen := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	p := &testProvider{key: gen(), otherKey: gen(), clientID: "flexauth-test", secret: "s3cr3t-client", grants: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProvider) issuer() string { return p.srv.URL }

func (p *testProvider) config() map[string]string {
	return map[string]string{"issuer": p.issuer(), "client_id": p.clientID, "client_secret": p.secret}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *testProvider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.issuer(),
		"authorization_endpoint":                p.issuer() + "/authorize",
		"token_endpoint":                        p.issuer() + "/token",
		"jwks_uri":                              p.issuer() + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": p.authMethods(),
	})
}

func (p *testProvider) authMethods() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.postOnly {
		return []string{"client_secret_post"}
	}
	return []string{"client_secret_basic", "client_secret_post"}
}

func (p *testProvider) jwks(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	status := p.jwksStatus
	p.mu.Unlock()
	if status != 0 {
		http.Error(w, "keys unavailable", status)
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

func (p *testProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != p.clientID:
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
	if _, ok := testUsers[user]; !ok {
		user = "ada@example.com"
	}
	code := randomString()
	p.mu.Lock()
	p.grants[code] = grant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), user: user}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *testProvider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tokenStatus != 0 {
		writeJSON(w, p.tokenStatus, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok && p.postOnly {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "client_secret_basic not supported"})
		return
	}
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.clientID || secret != p.secret {
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
	u := testUsers[g.user]
	aud := p.clientID
	if p.audience != "" {
		aud = p.audience
	}
	life := p.lifetime
	if life == 0 {
		life = 5 * time.Minute
	}
	now := time.Now()
	if life < 0 {
		now = now.Add(2 * life) // issued in the past, expired since
	}
	claims := map[string]any{
		"iss": p.issuer(), "sub": u.sub, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(life).Unix(), "nonce": g.nonce,
		"email": u.email, "email_verified": true, "name": u.name,
		"tid": "9188040d-6c67-4c5b-b112-36a304b66dad", "groups": []string{"admins"},
	}
	for k, v := range p.extraClaims {
		claims[k] = v
	}
	key := p.key
	if p.signWithOther {
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
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": "at-" + randomString(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken,
	})
}

func (p *testProvider) set(f func(p *testProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *testProvider) tokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.issued...)
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = randomString()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// browse plays the user's browser: it follows the authorization URL to the
// provider, which approves at once, and returns the code and state it
// redirects back with.
func browse(t *testing.T, authURL, redirectURI string) (code, state string) {
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
