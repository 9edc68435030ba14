package oidc_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/syncbuf"
	"github.com/flexauth/flexauth/plugins/identity/oidc"
	"github.com/flexauth/flexauth/plugins/sdk"
)

const redirectURI = "https://flexauth.example.com/oidc/callback"

// syncBuffer collects output written from other goroutines.
type syncBuffer = syncbuf.Buffer

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// configured returns a plugin configured against prov, and its log.
func configured(t *testing.T, prov *testProvider, extra map[string]string) (*oidc.Plugin, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	p := oidc.NewWithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	cfg := prov.Config()
	maps.Copy(cfg, extra)
	if err := p.Configure(ctx(t), sdk.ConfigureRequest{Config: cfg}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p, logs
}

// signIn is a started sign-in: what flexauth keeps between Authorize and
// Exchange, and the code the browser came back with.
type signIn struct {
	state, nonce, verifier, code string
	url                          *url.URL
}

func startSignIn(t *testing.T, p sdk.SignOn, loginHint string) signIn {
	t.Helper()
	verifier, challenge := pkce()
	s := signIn{state: randomString(), nonce: randomString(), verifier: verifier}
	resp, err := p.Authorize(ctx(t), sdk.AuthorizeRequest{
		Account: "acme", AuthID: loginHint, State: s.state, Nonce: s.nonce,
		CodeChallenge: challenge, RedirectURI: redirectURI, LoginHint: loginHint,
	})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if s.url, err = url.Parse(resp.URL); err != nil {
		t.Fatal(err)
	}
	var state string
	s.code, state = browse(t, resp.URL, redirectURI)
	if state != s.state {
		t.Fatalf("state came back as %q, want %q", state, s.state)
	}
	if s.code == "" {
		t.Fatal("no code in the redirect")
	}
	return s
}

func (s signIn) exchange(t *testing.T, p sdk.SignOn) (sdk.Claims, error) {
	t.Helper()
	return p.Exchange(ctx(t), sdk.ExchangeRequest{Code: s.code, CodeVerifier: s.verifier, Nonce: s.nonce, RedirectURI: redirectURI})
}

func wantPermanent(t *testing.T, err error, contains string) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a permanent one")
	}
	if !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("error %q is temporary, want permanent", err)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not say %q", err, contains)
	}
}

func wantTemporary(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a temporary one")
	}
	if errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("error %q is permanent, want temporary", err)
	}
}

func TestFullSignIn(t *testing.T) {
	prov := newTestProvider(t)
	p, logs := configured(t, prov, nil)

	s := startSignIn(t, p, "alan@example.org")
	q := s.url.Query()
	for k, want := range map[string]string{
		"client_id": prov.ClientID, "response_type": "code", "scope": "openid email profile",
		"state": s.state, "nonce": s.nonce, "code_challenge_method": "S256",
		"redirect_uri": redirectURI, "login_hint": "alan@example.org",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization URL: %s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(s.url.String(), prov.Issuer()+"/authorize?") {
		t.Errorf("authorization URL %s is not the provider's endpoint", s.url)
	}

	c, err := s.exchange(t, p)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if c.Subject != "00u-alan-1912" || c.Issuer != prov.Issuer() || c.Email != "alan@example.org" || !c.EmailVerified ||
		c.EmailProof != sdk.EmailProofClaim || c.Name != "Alan Turing" {
		t.Errorf("claims = %+v", c)
	}
	if c.Extra["tid"] != "9188040d-6c67-4c5b-b112-36a304b66dad" || c.Extra["groups"] != `["admins"]` {
		t.Errorf("extra claims = %v", c.Extra)
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "nonce", "email", "name"} {
		if _, ok := c.Extra[k]; ok {
			t.Errorf("extra claims hold the standard claim %q", k)
		}
	}

	// A code is single use: the provider refuses it again, permanently.
	_, err = s.exchange(t, p)
	wantPermanent(t, err, "invalid_grant")

	// Nothing secret reached the log.
	secrets := append([]string{s.code, s.verifier, prov.Secret}, prov.Tokens()...)
	for _, secret := range secrets {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a secret (code, verifier, client secret or token):\n%s", logs)
		}
	}
}

func TestPKCEVerifierMismatchIsRefused(t *testing.T) {
	prov := newTestProvider(t)
	p, _ := configured(t, prov, nil)
	s := startSignIn(t, p, "")
	s.verifier, _ = pkce()
	_, err := s.exchange(t, p)
	wantPermanent(t, err, "PKCE verification failed")
}

func TestWrongNonceIsRefused(t *testing.T) {
	prov := newTestProvider(t)
	p, _ := configured(t, prov, nil)
	s := startSignIn(t, p, "")
	s.nonce = randomString()
	_, err := s.exchange(t, p)
	wantPermanent(t, err, "nonce")
}

func TestTokenRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		knob  func(*testProvider)
		extra map[string]string
		want  string

		refused bool // a genuine token for someone not admitted
	}{
		{"bad signature", func(p *testProvider) { p.SignWithOther = true }, nil, "signature", false},
		{"another audience", func(p *testProvider) { p.Audience = "someone-else" }, nil, "audience", false},
		{"expired", func(p *testProvider) { p.Lifetime = -10 * time.Minute }, nil, "expired", false},
		{"another issuer", func(p *testProvider) { p.ExtraClaims = map[string]any{"iss": "https://evil.example.com"} }, nil, "issued by a different provider", false},
		{"domain not allowed", nil, map[string]string{"allowed_domains": "example.org, example.net"}, `email domain "example.com" is not in allowed_domains`, true},
		{"email not verified", func(p *testProvider) { p.ExtraClaims = map[string]any{"email_verified": false} }, map[string]string{"allowed_domains": "example.com"}, "email not verified", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := newTestProvider(t)
			p, _ := configured(t, prov, tc.extra)
			s := startSignIn(t, p, "ada@example.com")
			if tc.knob != nil {
				prov.Set(tc.knob)
			}
			c, err := s.exchange(t, p)
			if err == nil {
				t.Fatalf("Exchange accepted the token: %+v", c)
			}
			wantPermanent(t, err, tc.want)
			if errors.Is(err, sdk.ErrRefused) != tc.refused {
				t.Fatalf("error %q: refused = %v, want %v", err, errors.Is(err, sdk.ErrRefused), tc.refused)
			}
		})
	}
}

func TestAllowedDomainAccepted(t *testing.T) {
	prov := newTestProvider(t)
	p, _ := configured(t, prov, map[string]string{"allowed_domains": "@Example.COM,example.org"})
	c, err := startSignIn(t, p, "ada@example.com").exchange(t, p)
	if err != nil || c.Email != "ada@example.com" {
		t.Fatalf("Exchange = %+v, %v", c, err)
	}
}

func TestProviderDownIsTemporary(t *testing.T) {
	t.Run("at configure", func(t *testing.T) {
		prov := newTestProvider(t)
		cfg := prov.Config()
		prov.Close()
		err := oidc.NewWithLogger(slog.New(slog.DiscardHandler)).Configure(ctx(t), sdk.ConfigureRequest{Config: cfg})
		wantTemporary(t, err)
	})
	t.Run("token endpoint failing", func(t *testing.T) {
		prov := newTestProvider(t)
		p, _ := configured(t, prov, nil)
		s := startSignIn(t, p, "")
		prov.Set(func(p *testProvider) { p.TokenStatus = 503 })
		_, err := s.exchange(t, p)
		wantTemporary(t, err)
		// The code is still good: the retry succeeds once the provider is back.
		prov.Set(func(p *testProvider) { p.TokenStatus = 0 })
		if _, err := s.exchange(t, p); err != nil {
			t.Fatalf("retried Exchange: %v", err)
		}
	})
	t.Run("signing keys unreachable", func(t *testing.T) {
		prov := newTestProvider(t)
		p, _ := configured(t, prov, nil)
		s := startSignIn(t, p, "")
		prov.Set(func(p *testProvider) { p.JWKSStatus = 503 })
		_, err := s.exchange(t, p)
		wantTemporary(t, err)
		if !strings.Contains(err.Error(), "signing keys") {
			t.Errorf("error %q does not say the keys are unreachable", err)
		}
	})
	t.Run("at exchange", func(t *testing.T) {
		prov := newTestProvider(t)
		p, _ := configured(t, prov, nil)
		s := startSignIn(t, p, "")
		prov.Close()
		_, err := s.exchange(t, p)
		wantTemporary(t, err)
	})
}

func TestBadConfigurationIsPermanent(t *testing.T) {
	prov := newTestProvider(t)
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"no issuer", map[string]string{"client_id": "x"}, `missing "issuer"`},
		{"no client id", map[string]string{"issuer": prov.Issuer()}, `missing "client_id"`},
		{"unknown key", map[string]string{"issuer": prov.Issuer(), "client_id": "x", "clientid": "y"}, `unknown key "clientid"`},
		{"http not loopback", map[string]string{"issuer": "http://login.example.com", "client_id": "x"}, "http is allowed only on a loopback"},
		{"issuer and tenant", map[string]string{"issuer": prov.Issuer(), "tenant": "contoso.onmicrosoft.com", "client_id": "x"}, "not both"},
		{"multi-tenant", map[string]string{"tenant": "common", "client_id": "x"}, "multi-tenant"},
		{"bad domain", map[string]string{"issuer": prov.Issuer(), "client_id": "x", "allowed_domains": "ada@example.com"}, "not a domain"},
		{"not a provider", map[string]string{"issuer": prov.Issuer() + "/nothing-here", "client_id": "x"}, "404"},
		{"issuer mismatch", map[string]string{"issuer": strings.Replace(prov.Issuer(), "127.0.0.1", "localhost", 1), "client_id": "x"}, "issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := oidc.NewWithLogger(slog.New(slog.DiscardHandler)).Configure(ctx(t), sdk.ConfigureRequest{Config: tc.cfg})
			wantPermanent(t, err, tc.want)
		})
	}
}

func TestAuthorizeRefusesIncompleteRequests(t *testing.T) {
	prov := newTestProvider(t)
	p, _ := configured(t, prov, nil)
	_, challenge := pkce()
	good := sdk.AuthorizeRequest{State: "s", Nonce: "n", CodeChallenge: challenge, RedirectURI: redirectURI}
	for name, mutate := range map[string]func(*sdk.AuthorizeRequest){
		"missing state":        func(r *sdk.AuthorizeRequest) { r.State = "" },
		"missing nonce":        func(r *sdk.AuthorizeRequest) { r.Nonce = "" },
		"code_challenge":       func(r *sdk.AuthorizeRequest) { r.CodeChallenge = "plain-verifier" },
		"missing redirect_uri": func(r *sdk.AuthorizeRequest) { r.RedirectURI = "" },
		"not an absolute":      func(r *sdk.AuthorizeRequest) { r.RedirectURI = "/callback" },
	} {
		t.Run(name, func(t *testing.T) {
			req := good
			mutate(&req)
			_, err := p.Authorize(ctx(t), req)
			wantPermanent(t, err, name)
		})
	}
	_, err := oidc.NewWithLogger(slog.New(slog.DiscardHandler)).Authorize(ctx(t), good)
	wantPermanent(t, err, "not configured")
}

func TestLookupFindsNobodyAndInfoOffersSignOn(t *testing.T) {
	prov := newTestProvider(t)
	p, _ := configured(t, prov, nil)
	id, err := p.Lookup(ctx(t), sdk.LookupRequest{Account: "acme", AuthID: "ada@example.com"})
	if err != nil || id.Found {
		t.Fatalf("Lookup = %+v, %v; want not found", id, err)
	}
	info, err := p.Info(ctx(t))
	if err != nil || info.Name != "oidc" || len(info.Capabilities) != 1 || info.Capabilities[0] != sdk.CapabilitySignOn {
		t.Fatalf("Info = %+v, %v", info, err)
	}
}

func TestClientSecretPostOnlyProvider(t *testing.T) {
	prov := newTestProvider(t)
	prov.Set(func(p *testProvider) { p.PostOnly = true })
	p, _ := configured(t, prov, nil)
	c, err := startSignIn(t, p, "").exchange(t, p)
	if err != nil || c.Subject != "00u-ada-1815" {
		t.Fatalf("Exchange = %+v, %v", c, err)
	}
}
