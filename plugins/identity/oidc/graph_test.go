package oidc_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/identity/oidc"
	"github.com/flexauth/flexauth/plugins/identity/oidc/oidctest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// At an Entra ID sign-in the plugin reads the user's position and phone
// from Microsoft Graph with the access token the provider granted; Graph
// failing in any way never fails the sign-in.

func TestEntraSignInReadsPositionAndPhoneFromGraph(t *testing.T) {
	for _, tc := range []struct {
		name, user, position, phone string
	}{
		{"business phone when there is no mobile", "megan@contoso.example", "Marketing Manager", "+1 412 555 0109"},
		{"the mobile phone first", "lee@partner.example", "Director", "+1 425 555 0105"},
		{"an empty profile is read as empty", "grace@fabrikam.example", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := oidctest.NewEntra(t)
			graph := oidctest.NewGraph(t, prov)
			p, logs := configured(t, prov, map[string]string{"verified_domains": "contoso.example", "graph_url": graph.URL()})
			s := startSignIn(t, p, tc.user)
			if scope := strings.Fields(s.url.Query().Get("scope")); !slices.Contains(scope, "User.Read") {
				t.Errorf("requested scopes %q lack User.Read, which Graph's /me needs", scope)
			}
			c, err := s.exchange(t, p)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if !c.ProfileRead || c.Position != tc.position || c.Phone != tc.phone || c.Provider != sdk.ProviderEntra {
				t.Errorf("claims: provider %q, profile read %v, position %q, phone %q; want entra, true, %q, %q",
					c.Provider, c.ProfileRead, c.Position, c.Phone, tc.position, tc.phone)
			}
			// Graph was asked once, with the access token the provider
			// granted to this sign-in (the fake answers no other).
			granted := prov.AccessTokens()
			if got := graph.BearerTokens(); len(granted) != 1 || !slices.Equal(got, granted) {
				t.Errorf("Graph got bearer tokens %q, want the one the provider granted %q", got, granted)
			}
			assertNoTokens(t, logs.String(), prov)
		})
	}
}

func TestGraphFailureLeavesTheProfileUnreadAndTheSignInSucceeds(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the Graph timeout")
	}
	for _, tc := range []struct {
		name   string
		extra  map[string]string
		break_ func(g *oidctest.Graph)
		logs   string
	}{
		{"Graph down", nil, func(g *oidctest.Graph) { g.Close() }, "connection refused"},
		{"Graph failing", nil, func(g *oidctest.Graph) { g.Set(func(g *oidctest.Graph) { g.Status = 503 }) }, "HTTP 503, serviceNotAvailable"},
		{"Graph too slow", nil, func(g *oidctest.Graph) { g.Set(func(g *oidctest.Graph) { g.Delay = 8 * time.Second }) }, "no answer within 5s"},
		// Scopes set without User.Read: Graph denies the token.
		{"permission not granted", map[string]string{"scopes": "openid email profile"}, func(*oidctest.Graph) {},
			"HTTP 403, Authorization_RequestDenied: Insufficient privileges to complete the operation. (is the delegated permission User.Read granted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prov := oidctest.NewEntra(t)
			graph := oidctest.NewGraph(t, prov)
			cfg := map[string]string{"verified_domains": "contoso.example", "graph_url": graph.URL()}
			for k, v := range tc.extra {
				cfg[k] = v
			}
			p, logs := configured(t, prov, cfg)
			s := startSignIn(t, p, "megan@contoso.example")
			tc.break_(graph)
			began := time.Now()
			c, err := s.exchange(t, p)
			if err != nil {
				t.Fatalf("Exchange failed with Graph broken: %v", err)
			}
			if took := time.Since(began); took > 7*time.Second {
				t.Errorf("the sign-in took %s: Graph's timeout did not hold", took)
			}
			megan := oidctest.EntraUsers()["megan@contoso.example"]
			if c.Subject != megan.OID || !c.EmailVerified || c.Provider != sdk.ProviderEntra {
				t.Errorf("claims = %+v", c)
			}
			if c.ProfileRead || c.Position != "" || c.Phone != "" {
				t.Errorf("profile read %v, position %q, phone %q; want unread and empty", c.ProfileRead, c.Position, c.Phone)
			}
			out := logs.String()
			if !strings.Contains(out, "oidc profile not read from Microsoft Graph") || !strings.Contains(out, tc.logs) {
				t.Errorf("log does not say why (%q):\n%s", tc.logs, out)
			}
			assertNoTokens(t, out, prov)
		})
	}
}

func TestGraphLookupOff(t *testing.T) {
	prov := oidctest.NewEntra(t)
	graph := oidctest.NewGraph(t, prov)
	p, _ := configured(t, prov, map[string]string{"verified_domains": "contoso.example", "graph_url": "off"})
	s := startSignIn(t, p, "megan@contoso.example")
	if scope := s.url.Query().Get("scope"); scope != "openid email profile" {
		t.Errorf("scope = %q, want no User.Read when the lookup is off", scope)
	}
	c, err := s.exchange(t, p)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if c.ProfileRead || c.Position != "" || graph.Requests() != 0 {
		t.Errorf("profile read %v, position %q, Graph asked %d times; want nothing read", c.ProfileRead, c.Position, graph.Requests())
	}
}

// A generic provider has no Graph: nothing is read, and its kind is none.
func TestGenericProviderReadsNoProfile(t *testing.T) {
	prov := newTestProvider(t)
	p, _ := configured(t, prov, nil)
	c, err := startSignIn(t, p, "ada@example.com").exchange(t, p)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if c.ProfileRead || c.Provider != "" {
		t.Errorf("profile read %v, provider %q; want false, none", c.ProfileRead, c.Provider)
	}
}

func TestGraphURLIsChecked(t *testing.T) {
	prov := oidctest.NewEntra(t)
	generic := newTestProvider(t)
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"not Entra", merge(generic.Config(), map[string]string{"graph_url": "https://graph.microsoft.com"}), `"graph_url" applies to Entra ID only`},
		{"a path", merge(prov.Config(), map[string]string{"graph_url": "https://graph.microsoft.com/v1.0"}), "give the host only"},
		{"plain http elsewhere than loopback", merge(prov.Config(), map[string]string{"graph_url": "http://graph.example.com"}), "use https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := oidc.NewWithLogger(slog.New(slog.DiscardHandler)).Configure(ctx(t), sdk.ConfigureRequest{Config: tc.cfg})
			wantPermanent(t, err, tc.want)
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// assertNoTokens fails when a log holds a token the provider issued.
func assertNoTokens(t *testing.T, logs string, prov *oidctest.Provider) {
	t.Helper()
	for _, tok := range append(prov.AccessTokens(), prov.Tokens()...) {
		if strings.Contains(logs, tok) {
			t.Fatalf("a token reached the log:\n%s", logs)
		}
	}
}

// Graph gets what is left of the caller's deadline but a margin, so that a
// slow Graph never makes the sign-in itself miss its deadline.
func TestGraphLeavesTheSignInItsDeadline(t *testing.T) {
	prov := oidctest.NewEntra(t)
	graph := oidctest.NewGraph(t, prov)
	graph.Set(func(g *oidctest.Graph) { g.Delay = 10 * time.Second })
	p, logs := configured(t, prov, map[string]string{"verified_domains": "contoso.example", "graph_url": graph.URL()})
	s := startSignIn(t, p, "megan@contoso.example")
	c, cancel := context.WithTimeout(ctx(t), 4*time.Second)
	defer cancel()
	claims, err := p.Exchange(c, sdk.ExchangeRequest{Code: s.code, CodeVerifier: s.verifier, Nonce: s.nonce, RedirectURI: redirectURI})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if c.Err() != nil {
		t.Fatal("the exchange answered after its deadline")
	}
	if claims.ProfileRead || claims.Subject == "" {
		t.Errorf("claims = %+v, want signed in without a profile", claims)
	}
	if out := logs.String(); !strings.Contains(out, "no answer within 1.9") {
		t.Errorf("log does not say Graph had about 2 s:\n%s", out)
	}

	// Too little time left: Graph is not asked at all.
	s = startSignIn(t, p, "megan@contoso.example")
	c, cancel = context.WithTimeout(ctx(t), 2*time.Second)
	defer cancel()
	before := graph.Requests()
	if _, err := p.Exchange(c, sdk.ExchangeRequest{Code: s.code, CodeVerifier: s.verifier, Nonce: s.nonce, RedirectURI: redirectURI}); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if graph.Requests() != before || !strings.Contains(logs.String(), "too little time left") {
		t.Errorf("Graph asked with under %s left", 500*time.Millisecond)
	}
}
