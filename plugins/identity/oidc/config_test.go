package oidc

import (
	"slices"
	"testing"
)

func TestTenantBecomesTheEntraIssuer(t *testing.T) {
	c, err := parseConfig(map[string]string{"tenant": "9188040d-6c67-4c5b-b112-36a304b66dad", "client_id": "app"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"; c.issuer != want {
		t.Errorf("issuer = %q, want %q", c.issuer, want)
	}
	// User.Read lets the plugin read the user's profile from Graph.
	if !slices.Equal(c.scopes, []string{"openid", "email", "profile", "User.Read"}) {
		t.Errorf("default scopes = %q", c.scopes)
	}
	if c.entra == nil || c.entra.graphURL != "https://graph.microsoft.com" {
		t.Errorf("entra = %+v, want Graph's global endpoint", c.entra)
	}
}

func TestProviderKind(t *testing.T) {
	for _, tc := range []struct {
		p    provider
		want string
	}{
		{provider{issuer: "https://login.microsoftonline.com/t/v2.0", entra: &entraTenant{}}, "entra"},
		{provider{issuer: "https://accounts.google.com"}, "google"},
		{provider{issuer: "https://accounts.google.com.evil.example"}, ""},
		{provider{issuer: "https://keycloak.example.com/realms/acme"}, ""},
	} {
		if got := tc.p.kind(); got != tc.want {
			t.Errorf("kind of %s = %q, want %q", tc.p.issuer, got, tc.want)
		}
	}
}

func TestGraphURLOfANationalCloud(t *testing.T) {
	c, err := parseConfig(map[string]string{"tenant": "contoso.us", "authority": "https://login.microsoftonline.us", "client_id": "app",
		"graph_url": "https://graph.microsoft.us/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.entra.graphURL != "https://graph.microsoft.us" {
		t.Errorf("graph_url = %q", c.entra.graphURL)
	}
}

func TestAuthorityNamesAnEntraNationalCloud(t *testing.T) {
	c, err := parseConfig(map[string]string{"tenant": "contoso.us", "authority": "https://login.microsoftonline.us/", "client_id": "app",
		"verified_domains": "@Contoso.us, contoso.onmicrosoft.us"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://login.microsoftonline.us/contoso.us/v2.0"; c.issuer != want {
		t.Errorf("issuer = %q, want %q", c.issuer, want)
	}
	if c.entra == nil || !slices.Equal(c.entra.verified, []string{"contoso.us", "contoso.onmicrosoft.us"}) {
		t.Errorf("entra = %+v", c.entra)
	}
}

func TestEntraIssuerNamesTheTenant(t *testing.T) {
	e := entraConfig{authority: "https://login.microsoftonline.com"}
	for iss, want := range map[string]string{
		"https://login.microsoftonline.com/4A5B6C7D-1111-4222-8333-944455556666/v2.0":   "4a5b6c7d-1111-4222-8333-944455556666",
		"https://login.microsoftonline.com/contoso.com/v2.0":                            "",
		"https://login.microsoftonline.com/4a5b6c7d-1111-4222-8333-944455556666/":       "",
		"https://sts.windows.net/4a5b6c7d-1111-4222-8333-944455556666/":                 "",
		"https://login.microsoftonline.com/4a5b6c7d-1111-4222-8333-944455556666/x/v2.0": "",
	} {
		if got, ok := e.tenantOf(iss); got != want || ok != (want != "") {
			t.Errorf("tenantOf(%q) = %q, %v; want %q", iss, got, ok, want)
		}
	}
}

func TestEmailDomain(t *testing.T) {
	for addr, want := range map[string]string{
		"megan@Contoso.example":                               "contoso.example",
		"grace_fabrikam.example#EXT#@contoso.onmicrosoft.com": "",
		"megan":            "",
		"@contoso.example": "",
		"megan@localhost":  "",
	} {
		if got, ok := emailDomain(addr); got != want || ok != (want != "") {
			t.Errorf("emailDomain(%q) = %q, %v; want %q", addr, got, ok, want)
		}
	}
}

func TestScopesAlwaysHoldOpenID(t *testing.T) {
	c, err := parseConfig(map[string]string{"issuer": "https://accounts.google.com", "client_id": "app", "scopes": "email,profile"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.scopes, []string{"openid", "email", "profile"}) {
		t.Errorf("scopes = %q", c.scopes)
	}
}

func TestLoopbackHTTPIssuerAccepted(t *testing.T) {
	for _, issuer := range []string{"http://127.0.0.1:8080", "http://localhost:9000/realms/x", "http://[::1]:1234"} {
		if err := checkIssuer(keyIssuer, issuer); err != nil {
			t.Errorf("checkIssuer(%q) = %v", issuer, err)
		}
	}
}
