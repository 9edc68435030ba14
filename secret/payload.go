package secret

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Workflow payloads (everything Temporal records in a workflow's history)
// are sealed with keys of their own. Each key has an id that travels with
// the payloads it sealed, so that the master key can rotate: new payloads
// are sealed with the current master key's payload key, and payloads
// recorded before a rotation still open as long as the keyring is given
// the previous master key.

// ErrUnknownKey is returned by OpenPayload when the payload names a key
// the keyring does not hold (a previous master key was not supplied).
var ErrUnknownKey = errors.New("no payload key with this id in the keyring")

// payloadKeyIDBytes is the length of a payload key id before hex encoding:
// 64 bits keeps two master keys from ever sharing an id by chance.
const payloadKeyIDBytes = 8

type payloadKey struct {
	id   string
	aead cipher.AEAD
}

// payloadKeys holds the current key first, then those of previous master
// keys.
type payloadKeys []payloadKey

func newPayloadKeys(master []byte, previous [][]byte) (payloadKeys, error) {
	keys := make(payloadKeys, 0, 1+len(previous))
	for i, m := range append([][]byte{master}, previous...) {
		if len(m) != MasterKeySize {
			return nil, fmt.Errorf("previous master key %d must be %d bytes, got %d", i, MasterKeySize, len(m))
		}
		k, err := newPayloadKey(m)
		if err != nil {
			return nil, err
		}
		if _, ok := keys.find(k.id); ok {
			continue // the same key given twice
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func newPayloadKey(master []byte) (payloadKey, error) {
	key, err := derive(master, "flexauth payload v1")
	if err != nil {
		return payloadKey{}, err
	}
	// The id is derived apart from the key: naming a key reveals nothing
	// about it or about the master key.
	id, err := derive(master, "flexauth payload key id v1")
	if err != nil {
		return payloadKey{}, err
	}
	aead, err := newGCM(key)
	if err != nil {
		return payloadKey{}, err
	}
	return payloadKey{id: hex.EncodeToString(id[:payloadKeyIDBytes]), aead: aead}, nil
}

func (ks payloadKeys) find(id string) (payloadKey, bool) {
	for _, k := range ks {
		if k.id == id {
			return k, true
		}
	}
	return payloadKey{}, false
}

// PayloadKeyID names the key SealPayload seals with: that of the current
// master key.
func (k *Keyring) PayloadKeyID() string { return k.payload[0].id }

// PayloadKeyIDs names every key OpenPayload can open with, the current
// one first.
func (k *Keyring) PayloadKeyIDs() []string {
	ids := make([]string, len(k.payload))
	for i, p := range k.payload {
		ids[i] = p.id
	}
	return ids
}

// SealPayload encrypts plaintext with AES-256-GCM under the current payload
// key and a fresh random nonce. It returns the key's id, to be stored
// beside the sealed value, and nonce||ciphertext. The key id and aad are
// authenticated: a sealed value presented under another key id or another
// aad does not open.
func (k *Keyring) SealPayload(plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	key := k.payload[0]
	nonce := make([]byte, key.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("read nonce: %w", err)
	}
	return key.id, key.aead.Seal(nonce, nonce, plaintext, payloadAAD(key.id, aad)), nil
}

// OpenPayload decrypts a value made by SealPayload with the key named
// keyID and the same aad. It returns ErrUnknownKey when the keyring does
// not hold that key, and ErrOpen when the value fails authentication.
func (k *Keyring) OpenPayload(keyID string, sealed, aad []byte) ([]byte, error) {
	key, ok := k.payload.find(keyID)
	if !ok {
		return nil, fmt.Errorf("payload key %q: %w", keyID, ErrUnknownKey)
	}
	ns := key.aead.NonceSize()
	if len(sealed) < ns {
		return nil, ErrOpen
	}
	plain, err := key.aead.Open(nil, sealed[:ns], sealed[ns:], payloadAAD(keyID, aad))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// payloadAAD binds the key id to the caller's aad, length-prefixed so that
// no (id, aad) pair reads as another.
func payloadAAD(keyID string, aad []byte) []byte {
	out := binary.BigEndian.AppendUint64(nil, uint64(len(keyID)))
	out = append(out, keyID...)
	return append(out, aad...)
}

// ParseMasterKeys decodes a comma-separated list of base64 master keys (as
// in FLEXAUTH_PREVIOUS_MASTER_KEYS). Blank entries are skipped; an empty
// list gives none.
func ParseMasterKeys(list string) ([][]byte, error) {
	var keys [][]byte
	for i, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		key, err := ParseMasterKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}
