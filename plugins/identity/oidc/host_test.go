package oidc_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/identity/oidc/oidctest"
	"github.com/flexauth/flexauth/plugins/plugintest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// oidcBin is the flexauth-oidc executable built by TestMain. It is set once
// before any test runs and never written again.
//
// plugintest.RunIdentity is not run on it: its checks need a user that
// Lookup finds, and this plugin finds nobody.
var oidcBin string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, map[*string]string{&oidcBin: "github.com/flexauth/flexauth/plugins/identity/oidc/cmd/flexauth-oidc"}))
}

func newHost(t *testing.T, config map[string]string) (*host.Host, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h, err := host.New(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		host.Spec{Name: "sso", Kind: sdk.KindIdentity, Command: []string{oidcBin}, Config: config})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, logs
}

// hostSignOn lets the sign-in helpers drive the host as they drive the
// plugin in process.
type hostSignOn struct {
	h    *host.Host
	name string
}

func (s hostSignOn) Authorize(c context.Context, req sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error) {
	return s.h.Authorize(c, s.name, req)
}

func (s hostSignOn) Exchange(c context.Context, req sdk.ExchangeRequest) (sdk.Claims, error) {
	return s.h.Exchange(c, s.name, req)
}

func TestSignInThroughTheHost(t *testing.T) {
	prov := newTestProvider(t)
	h, logs := newHost(t, prov.Config())
	so := hostSignOn{h, "sso"}

	info, err := h.Info(ctx(t), "sso")
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != sdk.KindIdentity || !slices.Equal(info.Capabilities, []string{sdk.CapabilitySignOn}) {
		t.Errorf("Info = %+v", info)
	}
	id, err := h.Lookup(ctx(t), "sso", sdk.LookupRequest{Account: "acme", AuthID: "ada@example.com"})
	if err != nil || id.Found {
		t.Errorf("Lookup = %+v, %v; want not found", id, err)
	}

	s := startSignIn(t, so, "ada@example.com")
	c, err := s.exchange(t, so)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if c.Subject != "00u-ada-1815" || c.Email != "ada@example.com" || !c.EmailVerified || c.Name != "Ada Lovelace" || c.Issuer != prov.Issuer() {
		t.Errorf("claims = %+v", c)
	}
	if c.Extra["tid"] == "" {
		t.Errorf("extra claims lost crossing the process boundary: %v", c.Extra)
	}

	// Refusals stay permanent across the boundary.
	s = startSignIn(t, so, "")
	s.nonce = randomString()
	_, err = s.exchange(t, so)
	wantPermanent(t, err, "nonce")

	s = startSignIn(t, so, "")
	prov.Set(func(p *testProvider) { p.SignWithOther = true })
	_, err = s.exchange(t, so)
	wantPermanent(t, err, "signature")

	// A provider gone is temporary.
	s = startSignIn(t, so, "")
	prov.Close()
	_, err = s.exchange(t, so)
	wantTemporary(t, err)

	secrets := append([]string{s.code, s.verifier, prov.Secret}, prov.Tokens()...)
	for _, secret := range secrets {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the host's or plugin's log holds a secret:\n%s", logs)
		}
	}
}

func TestUnreachableProviderAtLaunchIsTemporaryThroughTheHost(t *testing.T) {
	prov := newTestProvider(t)
	cfg := prov.Config()
	prov.Close()
	h, _ := newHost(t, cfg)
	_, challenge := pkce()
	_, err := h.Authorize(ctx(t), "sso", sdk.AuthorizeRequest{State: "s", Nonce: "n", CodeChallenge: challenge, RedirectURI: redirectURI})
	wantTemporary(t, err)
	if errors.Is(err, sdk.ErrWrongKind) {
		t.Errorf("error %q blames the kind", err)
	}
}

func TestBadConfigurationIsPermanentThroughTheHost(t *testing.T) {
	h, _ := newHost(t, map[string]string{"issuer": "http://login.example.com", "client_id": "x"})
	_, err := h.Exchange(ctx(t), "sso", sdk.ExchangeRequest{Code: "c", CodeVerifier: "v", Nonce: "n", RedirectURI: redirectURI})
	wantPermanent(t, err, "loopback")
}

// The email proof, the Graph profile and a refusal's class cross the
// process boundary.
func TestEntraSignInThroughTheHost(t *testing.T) {
	prov := oidctest.NewEntra(t)
	graph := oidctest.NewGraph(t, prov)
	cfg := prov.Config()
	cfg["verified_domains"] = "contoso.example"
	cfg["allowed_domains"] = "contoso.example"
	cfg["graph_url"] = graph.URL()
	h, _ := newHost(t, cfg)
	so := hostSignOn{h, "sso"}

	c, err := startSignIn(t, so, "megan@contoso.example").exchange(t, so)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	megan := oidctest.EntraUsers()["megan@contoso.example"]
	if c.Subject != megan.OID || !c.EmailVerified || c.EmailProof != sdk.EmailProofVerifiedDomain {
		t.Errorf("claims = %+v", c)
	}
	if c.Provider != sdk.ProviderEntra || !c.ProfileRead || c.Position != megan.JobTitle || c.Phone != megan.BusinessPhones[0] {
		t.Errorf("provider %q, profile read %v, position %q, phone %q", c.Provider, c.ProfileRead, c.Position, c.Phone)
	}

	_, err = startSignIn(t, so, "lee@partner.example").exchange(t, so)
	wantPermanent(t, err, "allowed_domains")
	if !errors.Is(err, sdk.ErrRefused) {
		t.Errorf("error %q lost its refusal crossing the boundary", err)
	}
}
