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
	if !slices.Equal(c.scopes, []string{"openid", "email", "profile"}) {
		t.Errorf("default scopes = %q", c.scopes)
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
		if err := checkIssuer(issuer); err != nil {
			t.Errorf("checkIssuer(%q) = %v", issuer, err)
		}
	}
}
