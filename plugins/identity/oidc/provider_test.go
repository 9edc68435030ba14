package oidc_test

import (
	"testing"

	"github.com/flexauth/flexauth/plugins/identity/oidc/oidctest"
)

// The provider these tests sign on at lives in oidctest, shared with the
// end-to-end tests.

type testProvider = oidctest.Provider

func newTestProvider(t *testing.T) *testProvider { return oidctest.New(t) }

func randomString() string { return oidctest.RandomString() }

func pkce() (verifier, challenge string) { return oidctest.PKCE() }

func browse(t *testing.T, authURL, redirectURI string) (code, state string) {
	t.Helper()
	return oidctest.Browse(t, authURL, redirectURI)
}
