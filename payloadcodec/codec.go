package payloadcodec

import (
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// EncodingEncrypted is the "encoding" of a payload this codec sealed.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that sealed the payload.
	MetadataKeyID = "encryption-key-id"
)

// aad binds every sealed payload to this codec and its encoding, so that a
// value sealed for another purpose with the same key never opens here.
var aad = []byte("flexauth payload codec v1\x00" + EncodingEncrypted)

// Keys seal and open payloads under a named key; *secret.Keyring is the
// implementation.
type Keys interface {
	// SealPayload encrypts with the current key and returns its id.
	SealPayload(plaintext, aad []byte) (keyID string, sealed []byte, err error)
	// OpenPayload decrypts with the key named keyID.
	OpenPayload(keyID string, sealed, aad []byte) ([]byte, error)
}

// Codec encrypts and decrypts Temporal payloads. It is safe for concurrent
// use.
type Codec struct {
	keys Keys
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec sealing with keys.
func New(keys Keys) *Codec {
	return &Codec{keys: keys}
}

// Encode seals each payload whole (metadata and data) into a new payload
// that says only which key sealed it.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("marshal payload %d: %w", i, err)
		}
		keyID, sealed, err := c.keys.SealPayload(plain, aad)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(keyID),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode opens each encrypted payload and passes the others through as
// they are: histories recorded before the codec must still replay.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		keyID := string(p.GetMetadata()[MetadataKeyID])
		if keyID == "" {
			return nil, fmt.Errorf("decrypt payload %d: %w", i, errNoKeyID)
		}
		plain, err := c.keys.OpenPayload(keyID, p.GetData(), aad)
		if err != nil {
			return nil, fmt.Errorf("decrypt payload %d with key %s: %w", i, keyID, err)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return nil, fmt.Errorf("unmarshal decrypted payload %d: %w", i, err)
		}
		out[i] = &dec
	}
	return out, nil
}

var errNoKeyID = errors.New("encrypted payload names no key")
