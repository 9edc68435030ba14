package secret

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func testKeyring(t *testing.T, b byte) *Keyring {
	t.Helper()
	k, err := New(bytes.Repeat([]byte{b}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDigest(t *testing.T) {
	k := testKeyring(t, 1)
	other := testKeyring(t, 2)
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"same input gives same digest", k.Digest("pin", "a1", "1234"), k.Digest("pin", "a1", "1234"), true},
		{"part boundaries matter", k.Digest("pin", "ab", "c"), k.Digest("pin", "a", "bc"), false},
		{"purpose separates digests", k.Digest("pin", "a1", "1234"), k.Digest("link", "a1", "1234"), false},
		{"another key gives another digest", k.Digest("pin", "a1", "1234"), other.Digest("pin", "a1", "1234"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.same {
				t.Fatalf("Equal = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	k := testKeyring(t, 1)
	sealed, err := k.Seal([]byte("JBSWY3DPEHPK3PXP"), "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("sealed value contains the plaintext")
	}
	plain, err := k.Open(sealed, "user-1")
	if err != nil || string(plain) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	if _, err := k.Open(sealed, "user-2"); err == nil {
		t.Fatal("a value sealed for one row opened for another")
	}
	if _, err := testKeyring(t, 2).Open(sealed, "user-1"); err == nil {
		t.Fatal("a value opened with the wrong key")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k.Open(sealed, "user-1"); err == nil {
		t.Fatal("a tampered value opened")
	}
}

func TestNewPINIsNumericAndVaries(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		pin, err := NewPIN(8)
		if err != nil {
			t.Fatal(err)
		}
		if len(pin) != 8 || strings.Trim(pin, "0123456789") != "" {
			t.Fatalf("pin %q is not 8 digits", pin)
		}
		seen[pin] = true
	}
	if len(seen) < 45 {
		t.Fatalf("only %d distinct pins in 50 draws", len(seen))
	}
	if _, err := NewPIN(2); err == nil {
		t.Fatal("a 2-digit pin was allowed")
	}
}

func TestNewTokenEntropy(t *testing.T) {
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 43 { // 32 bytes in unpadded base64url
		t.Fatalf("token %q too short", tok)
	}
}

func TestMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "master.key")
	k1, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Fatal("master key changed between loads")
	}
	if _, err := ParseMasterKey("c2hvcnQ="); err == nil {
		t.Fatal("a short master key was accepted")
	}
}
