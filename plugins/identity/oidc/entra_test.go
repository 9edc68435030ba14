package oidc_test

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/flexauth/flexauth/plugins/identity/oidc"
	"github.com/flexauth/flexauth/plugins/identity/oidc/oidctest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// Entra ID sends no email_verified: the plugin checks the tenant, takes
// the object ID as the subject and says which of Entra's proofs vouches for
// the email.

func TestEntraSignInVouchesOnTheTenantsVerifiedDomains(t *testing.T) {
	prov := oidctest.NewEntra(t)
	megan := oidctest.EntraUsers()["megan@contoso.example"]
	for _, tc := range []struct {
		name string
		cfg  map[string]string
	}{
		{"tenant by ID", map[string]string{"verified_domains": "contoso.example"}},
		// Entra's discovery under a domain names the tenant by its ID.
		{"tenant by domain", map[string]string{"tenant": oidctest.EntraTenantDomain, "verified_domains": "contoso.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := configured(t, prov, tc.cfg)
			s := startSignIn(t, p, "megan@contoso.example")
			if got := s.url.Scheme + "://" + s.url.Host + s.url.Path; got != prov.AuthorizationEndpoint() {
				t.Errorf("authorization URL %s, want the tenant's endpoint", s.url)
			}
			c, err := s.exchange(t, p)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if c.Issuer != prov.Issuer() || c.Subject != megan.OID || c.Email != megan.Email || !c.EmailVerified ||
				c.EmailProof != sdk.EmailProofVerifiedDomain || c.Name != megan.Name {
				t.Errorf("claims = %+v", c)
			}
			// The pairwise sub is kept for reference, not used as the subject.
			if c.Extra["sub"] != prov.Subject(megan) || c.Extra["tid"] != oidctest.EntraTenantID || c.Extra["oid"] != megan.OID {
				t.Errorf("extra claims = %v", c.Extra)
			}
		})
	}
}

func TestEntraEmailProofs(t *testing.T) {
	users := oidctest.EntraUsers()
	for _, tc := range []struct {
		name, user, verified string
		claims               map[string]any
		wantEmail, wantProof string
		omit                 []string
	}{
		{"no verified domains configured", "megan@contoso.example", "", nil, "megan@contoso.example", "", nil},
		{"email outside the verified domains", "lee@partner.example", "contoso.example", nil, "lee@partner.example", "", nil},
		{"user principal name in a verified domain", "lee@partner.example", "contoso.example,contoso.onmicrosoft.com", nil,
			"lee@contoso.onmicrosoft.com", sdk.EmailProofVerifiedDomain, nil},
		{"xms_edov vouches for the email", "lee@partner.example", "", map[string]any{"xms_edov": true}, "lee@partner.example", sdk.EmailProofDomainOwner, nil},
		{"xms_edov as a string", "lee@partner.example", "", map[string]any{"xms_edov": "1"}, "lee@partner.example", sdk.EmailProofDomainOwner, nil},
		{"xms_edov false", "lee@partner.example", "", map[string]any{"xms_edov": false}, "lee@partner.example", "", nil},
		// A guest's addresses are their home tenant's: the tenant's
		// domains do not vouch for them, even listed by mistake.
		{"guest", "grace@fabrikam.example", "fabrikam.example,contoso.onmicrosoft.com", nil, "grace@fabrikam.example", "", nil},
		{"guest with xms_edov", "grace@fabrikam.example", "", map[string]any{"xms_edov": true}, "grace@fabrikam.example", sdk.EmailProofDomainOwner, nil},
		{"member flagged as guest by acct", "megan@contoso.example", "contoso.example", map[string]any{"acct": 1}, "megan@contoso.example", "", nil},
		{"no email claim: the user principal name", "megan@contoso.example", "contoso.example", nil,
			"megan@contoso.example", sdk.EmailProofVerifiedDomain, []string{"email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := oidctest.NewEntra(t)
			prov.Set(func(p *oidctest.Provider) { p.ExtraClaims, p.OmitClaims = tc.claims, tc.omit })
			p, _ := configured(t, prov, map[string]string{"verified_domains": tc.verified})
			c, err := startSignIn(t, p, tc.user).exchange(t, p)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if c.Subject != users[tc.user].OID || c.Email != tc.wantEmail || c.EmailProof != tc.wantProof || c.EmailVerified != (tc.wantProof != "") {
				t.Errorf("claims = %+v; want email %q proof %q", c, tc.wantEmail, tc.wantProof)
			}
		})
	}
}

func TestEntraTokenRefusals(t *testing.T) {
	other := func(p *oidctest.Provider) string { return p.Authority() + "/" + oidctest.EntraOtherTenantID + "/v2.0" }
	for _, tc := range []struct {
		name string
		knob func(*oidctest.Provider)
		want string
	}{
		{"another tenant's tid", func(p *oidctest.Provider) { p.ExtraClaims = map[string]any{"tid": oidctest.EntraOtherTenantID} }, "not the configured tenant"},
		{"another tenant's issuer", func(p *oidctest.Provider) {
			p.ExtraClaims = map[string]any{"tid": oidctest.EntraOtherTenantID, "iss": other(p)}
		}, "issued by a different provider"},
		{"no tid", func(p *oidctest.Provider) { p.OmitClaims = []string{"tid"} }, "no tid claim"},
		{"no oid", func(p *oidctest.Provider) { p.OmitClaims = []string{"oid"} }, "no oid claim"},
		{"bad signature", func(p *oidctest.Provider) { p.SignWithOther = true }, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := oidctest.NewEntra(t)
			p, _ := configured(t, prov, map[string]string{"verified_domains": "contoso.example"})
			s := startSignIn(t, p, "megan@contoso.example")
			prov.Set(tc.knob)
			c, err := s.exchange(t, p)
			if err == nil {
				t.Fatalf("Exchange accepted the token: %+v", c)
			}
			wantPermanent(t, err, tc.want)
			// A forged or foreign token is not a mere refusal: it counts.
			if errors.Is(err, sdk.ErrRefused) {
				t.Fatalf("error %q is a refusal, want a failed verification", err)
			}
		})
	}
}

func TestEntraAllowedDomainsStillAdmit(t *testing.T) {
	prov := oidctest.NewEntra(t)
	p, _ := configured(t, prov, map[string]string{"allowed_domains": "contoso.example"})
	_, err := startSignIn(t, p, "lee@partner.example").exchange(t, p)
	wantPermanent(t, err, `email domain "partner.example" is not in allowed_domains`)
	if !errors.Is(err, sdk.ErrRefused) {
		t.Fatalf("error %q is not a refusal", err)
	}
}

func TestGenericProviderWithoutEmailVerifiedVouchesForNothing(t *testing.T) {
	prov := newTestProvider(t)
	prov.Set(func(p *testProvider) { p.OmitClaims = []string{"email_verified"} })
	p, _ := configured(t, prov, nil)
	c, err := startSignIn(t, p, "ada@example.com").exchange(t, p)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if c.Subject != "00u-ada-1815" || c.Email != "ada@example.com" || c.EmailVerified || c.EmailProof != "" {
		t.Errorf("claims = %+v; want an unverified email", c)
	}
}

func TestEntraConfigurationIsChecked(t *testing.T) {
	prov := oidctest.NewEntra(t)
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"verified_domains without tenant", map[string]string{"issuer": prov.Issuer(), "client_id": "x", "verified_domains": "contoso.example"}, `"verified_domains" applies to Entra ID only`},
		{"authority without tenant", map[string]string{"issuer": prov.Issuer(), "client_id": "x", "authority": prov.Authority()}, `"authority" applies to Entra ID only`},
		{"authority with a path", map[string]string{"tenant": oidctest.EntraTenantID, "client_id": "x", "authority": prov.Authority() + "/x"}, "host only"},
		{"bad verified domain", map[string]string{"tenant": oidctest.EntraTenantID, "client_id": "x", "authority": prov.Authority(), "verified_domains": "megan@contoso.example"}, "not a domain"},
		{"unknown tenant", map[string]string{"tenant": "fabrikam.example", "client_id": "x", "authority": prov.Authority()}, "400"},
		{"organizations", map[string]string{"tenant": "organizations", "client_id": "x", "authority": prov.Authority()}, "multi-tenant"},
		// A generic provider given as an Entra authority: its issuer names
		// no tenant.
		{"not an Entra authority", map[string]string{"tenant": oidctest.EntraTenantID, "client_id": "x", "authority": newTestProvider(t).Issuer()}, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := oidc.NewWithLogger(slog.New(slog.DiscardHandler)).Configure(ctx(t), sdk.ConfigureRequest{Config: tc.cfg})
			wantPermanent(t, err, tc.want)
		})
	}
}
