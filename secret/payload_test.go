package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"testing"
)

func TestPayloadSealing(t *testing.T) {
	old := testKeyring(t, 1)
	keyID, sealed, err := old.SealPayload([]byte("alice 203.0.113.7"), []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	if keyID != old.PayloadKeyID() {
		t.Fatalf("sealed under %q, current key is %q", keyID, old.PayloadKeyID())
	}
	if bytes.Contains(sealed, []byte("alice")) {
		t.Fatal("sealed payload contains the plaintext")
	}

	rotated, err := New(bytes.Repeat([]byte{2}, MasterKeySize), bytes.Repeat([]byte{1}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if rotated.PayloadKeyID() == keyID {
		t.Fatal("two master keys give the same payload key id")
	}
	if got := rotated.PayloadKeyIDs(); !slices.Equal(got, []string{rotated.PayloadKeyID(), keyID}) {
		t.Fatalf("PayloadKeyIDs = %v, want the current key then the previous one", got)
	}

	t.Run("opens with the key that sealed it", func(t *testing.T) {
		plain, err := old.OpenPayload(keyID, sealed, []byte("ctx"))
		if err != nil || string(plain) != "alice 203.0.113.7" {
			t.Fatalf("OpenPayload = %q, %v", plain, err)
		}
	})
	t.Run("opens after rotation when the previous master key is given", func(t *testing.T) {
		plain, err := rotated.OpenPayload(keyID, sealed, []byte("ctx"))
		if err != nil || string(plain) != "alice 203.0.113.7" {
			t.Fatalf("OpenPayload = %q, %v", plain, err)
		}
	})
	t.Run("a rotated keyring seals with the new key", func(t *testing.T) {
		id, s, err := rotated.SealPayload([]byte("x"), nil)
		if err != nil || id != rotated.PayloadKeyID() {
			t.Fatalf("SealPayload = %q, %v", id, err)
		}
		if _, err := old.OpenPayload(id, s, nil); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("the old keyring opened a payload of the new key: %v", err)
		}
	})
	t.Run("does not open after rotation without the previous master key", func(t *testing.T) {
		if _, err := testKeyring(t, 2).OpenPayload(keyID, sealed, []byte("ctx")); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("err = %v, want ErrUnknownKey", err)
		}
	})
	t.Run("another aad does not open", func(t *testing.T) {
		if _, err := old.OpenPayload(keyID, sealed, []byte("other")); !errors.Is(err, ErrOpen) {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
	})
	t.Run("a tampered payload does not open", func(t *testing.T) {
		bad := bytes.Clone(sealed)
		bad[len(bad)/2] ^= 1
		if _, err := old.OpenPayload(keyID, bad, []byte("ctx")); !errors.Is(err, ErrOpen) {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
		if _, err := old.OpenPayload(keyID, sealed[:5], []byte("ctx")); !errors.Is(err, ErrOpen) {
			t.Fatalf("truncated: err = %v, want ErrOpen", err)
		}
	})
	t.Run("nonces are fresh", func(t *testing.T) {
		_, again, err := old.SealPayload([]byte("alice 203.0.113.7"), []byte("ctx"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(again, sealed) {
			t.Fatal("sealing twice gave the same bytes")
		}
	})
	t.Run("the payload key is not the seal key", func(t *testing.T) {
		nonce := make([]byte, old.aead.NonceSize())
		if bytes.Equal(old.aead.Seal(nil, nonce, []byte("x"), nil), old.payload[0].aead.Seal(nil, nonce, []byte("x"), nil)) {
			t.Fatal("payloads are sealed with the seal key: the keys are not purpose-separated")
		}
	})
}

func TestParseMasterKeys(t *testing.T) {
	a := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, MasterKeySize))
	b := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, MasterKeySize))
	keys, err := ParseMasterKeys(" " + a + " ,, " + b + "\n")
	if err != nil || len(keys) != 2 || keys[0][0] != 1 || keys[1][0] != 2 {
		t.Fatalf("ParseMasterKeys = %v, %v", keys, err)
	}
	if keys, err := ParseMasterKeys(""); err != nil || len(keys) != 0 {
		t.Fatalf("empty list = %v, %v", keys, err)
	}
	if _, err := ParseMasterKeys(a + ",c2hvcnQ="); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestSealedValuesOpenAfterRotation(t *testing.T) {
	sealed, err := testKeyring(t, 1).Seal([]byte("JBSWY3DPEHPK3PXP"), "user-1")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := New(bytes.Repeat([]byte{2}, MasterKeySize), bytes.Repeat([]byte{1}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := rotated.Open(sealed, "user-1"); err != nil || string(plain) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open after rotation = %q, %v", plain, err)
	}
	if _, err := rotated.Open(sealed, "user-2"); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with another aad after rotation = %v, want ErrOpen", err)
	}
	if _, err := testKeyring(t, 2).Open(sealed, "user-1"); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open without the previous key = %v, want ErrOpen", err)
	}
	resealed, err := rotated.Seal([]byte("x"), "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testKeyring(t, 2).Open(resealed, "user-1"); err != nil {
		t.Fatalf("a rotated keyring does not seal with the new key: %v", err)
	}
	if rotated.Digest("pin", "a") != testKeyring(t, 2).Digest("pin", "a") {
		t.Fatal("digests of a rotated keyring do not use the new key")
	}
}

func TestNewRefusesAShortPreviousKey(t *testing.T) {
	if _, err := New(bytes.Repeat([]byte{1}, MasterKeySize), []byte("short")); err == nil {
		t.Fatal("a short previous master key was accepted")
	}
}
