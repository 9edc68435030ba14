package attempt_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
)

func keyring(t *testing.T, b byte) *secret.Keyring {
	t.Helper()
	k, err := secret.New(bytes.Repeat([]byte{b}, secret.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignOnRequestOpensOnlyForItsAttempt(t *testing.T) {
	keys := keyring(t, 1)
	want := attempt.SSOSession{Plugin: "oidc", Nonce: "n", Verifier: "v", URL: "https://idp.example/authorize", Code: "c"}
	sealed, err := attempt.SealSSO(keys, "att-1", want)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := attempt.OpenSSO(keys, "att-1", sealed); err != nil || got != want {
		t.Fatalf("OpenSSO = %+v, %v; want %+v", got, err, want)
	}
	if _, err := attempt.OpenSSO(keys, "att-2", sealed); err == nil {
		t.Fatal("a sign-on request opened as another attempt's")
	}
	if _, err := attempt.OpenSSO(keyring(t, 2), "att-1", sealed); err == nil {
		t.Fatal("a sign-on request opened under another key")
	}
}

func TestStateDigestIsKeyedAndApartFromLinks(t *testing.T) {
	keys := keyring(t, 1)
	state := attempt.SSOStateDigest(keys, "tok")
	if state != attempt.SSOStateDigest(keys, "tok") || state == attempt.SSOStateDigest(keyring(t, 2), "tok") {
		t.Fatal("the state digest is not a keyed function of the state")
	}
	if state == attempt.LinkDigest(keys, "tok") || state == attempt.PageDigest(keys, "tok") || state == attempt.CredentialLinkDigest(keys, "tok") {
		t.Fatal("a state's digest equals a token's of another purpose")
	}
}

func TestRecoveryCodesAreDrawnAsTheirDigests(t *testing.T) {
	keys := keyring(t, 1)
	shown, digests, err := attempt.DrawRecoveryCodes(keys)
	if err != nil || len(shown) != attempt.RecoveryCodeCount || len(digests) != attempt.RecoveryCodeCount {
		t.Fatalf("drew %d codes, %d digests, %v; want %d", len(shown), len(digests), err, attempt.RecoveryCodeCount)
	}
	for i, code := range shown {
		canonical, ok := secret.NormalizeRecoveryCode(code)
		if !ok || attempt.RecoveryDigest(keys, canonical) != digests[i] {
			t.Fatalf("digest %d is not the code's", i)
		}
	}
	sealed, err := attempt.SealRecoveryCodes(keys, "att-1", shown)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := attempt.OpenRecoveryCodes(keys, "att-1", sealed); err != nil || !slices.Equal(got, shown) {
		t.Fatalf("OpenRecoveryCodes = %v, %v", got, err)
	}
	if _, err := attempt.OpenRecoveryCodes(keys, "att-2", sealed); err == nil {
		t.Fatal("recovery codes opened as another attempt's")
	}
}

func TestEveryGuessableMethodHasItsFactor(t *testing.T) {
	want := map[string]string{
		attempt.MethodPasswordless: "", attempt.MethodPIN: attempt.FactorPIN, attempt.MethodTOTP: attempt.FactorTOTP,
		attempt.MethodSSO: attempt.FactorSSO, attempt.MethodPassword: attempt.FactorPassword,
	}
	for _, m := range attempt.Methods() {
		if got := attempt.MethodFactor(m); got != want[m] {
			t.Errorf("MethodFactor(%s) = %q, want %q", m, got, want[m])
		}
	}
}
