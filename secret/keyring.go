package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/hkdf"
)

// MasterKeySize is the length of the master key in bytes.
const MasterKeySize = 32

// ErrOpen is returned when a sealed value fails authentication: wrong key,
// wrong associated data or tampering.
var ErrOpen = errors.New("sealed value failed authentication")

// Keyring derives the digest and encryption keys from one master key.
// It is safe for concurrent use.
type Keyring struct {
	digestKey []byte
	aead      cipher.AEAD
	// previous open values sealed under previous master keys, and
	// previousDigest computes digests as previous master keys did.
	previous       []cipher.AEAD
	previousDigest [][]byte
	payload        payloadKeys
}

// New derives a Keyring from a master key of MasterKeySize bytes.
// Previous master keys, given during a rotation, only open what was
// sealed under them (Open, OpenPayload); sealing and digests use master.
func New(master []byte, previous ...[]byte) (*Keyring, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", MasterKeySize, len(master))
	}
	digestKey, err := derive(master, "flexauth digest v1")
	if err != nil {
		return nil, err
	}
	sealKey, err := derive(master, "flexauth seal v1")
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(sealKey)
	if err != nil {
		return nil, err
	}
	payload, err := newPayloadKeys(master, previous)
	if err != nil {
		return nil, err
	}
	k := &Keyring{digestKey: digestKey, aead: aead, payload: payload}
	for _, m := range previous {
		dk, err := derive(m, "flexauth digest v1")
		if err != nil {
			return nil, err
		}
		k.previousDigest = append(k.previousDigest, dk)
		key, err := derive(m, "flexauth seal v1")
		if err != nil {
			return nil, err
		}
		a, err := newGCM(key)
		if err != nil {
			return nil, err
		}
		k.previous = append(k.previous, a)
	}
	return k, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create gcm: %w", err)
	}
	return aead, nil
}

func derive(master []byte, info string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, master, nil, []byte(info)), key); err != nil {
		return nil, fmt.Errorf("derive %s key: %w", info, err)
	}
	return key, nil
}

// Digest returns a hex HMAC-SHA256 over purpose and parts. Each part is
// length-prefixed so that ("ab","c") and ("a","bc") never collide, and the
// purpose keeps a link digest from ever matching a PIN digest.
func (k *Keyring) Digest(purpose string, parts ...string) string {
	return digest(k.digestKey, purpose, parts)
}

// PreviousDigests returns Digest as each previous master key computed it,
// during a rotation: a digest stored for good (a recovery code's) is still
// found after the master key changes.
func (k *Keyring) PreviousDigests(purpose string, parts ...string) []string {
	out := make([]string, len(k.previousDigest))
	for i, key := range k.previousDigest {
		out[i] = digest(key, purpose, parts)
	}
	return out
}

func digest(key []byte, purpose string, parts []string) string {
	mac := hmac.New(sha256.New, key)
	var n [8]byte
	for _, p := range append([]string{purpose}, parts...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		mac.Write(n[:])
		mac.Write([]byte(p))
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// Seal encrypts plaintext bound to aad (for example the owning row's id), so
// a sealed value copied to another row does not open.
func (k *Keyring) Seal(plaintext []byte, aad string) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, plaintext, []byte(aad)), nil
}

// Open decrypts a value made by Seal with the same aad, under the current
// master key or, during a rotation, a previous one.
func (k *Keyring) Open(sealed []byte, aad string) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < ns {
		return nil, ErrOpen
	}
	for _, a := range append([]cipher.AEAD{k.aead}, k.previous...) {
		if plain, err := a.Open(nil, sealed[:ns], sealed[ns:], []byte(aad)); err == nil {
			return plain, nil
		}
	}
	return nil, ErrOpen
}

// Equal compares two digests in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ParseMasterKey decodes a base64 master key (as in FLEXAUTH_MASTER_KEY).
func ParseMasterKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("decode master key: %w", err)
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", MasterKeySize, len(key))
	}
	return key, nil
}
