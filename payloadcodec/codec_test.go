package payloadcodec_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/secret"
)

var _ payloadcodec.Keys = (*secret.Keyring)(nil)

func keyring(t *testing.T, master byte, previous ...byte) *secret.Keyring {
	t.Helper()
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, bytes.Repeat([]byte{p}, secret.MasterKeySize))
	}
	k, err := secret.New(bytes.Repeat([]byte{master}, secret.MasterKeySize), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// input looks like an attempt's input: what must not be stored in clear.
type input struct {
	AuthID    string
	IP        string
	UserAgent string
}

var alice = input{AuthID: "alice", IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (codec test)"}

func dataConverter(keys payloadcodec.Keys) converter.DataConverter {
	return payloadcodec.ClientOptions(keys, client.Options{}).DataConverter
}

func encode(t *testing.T, keys payloadcodec.Keys, v any) *commonpb.Payload {
	t.Helper()
	p, err := dataConverter(keys).ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCodecRoundTrip(t *testing.T) {
	keys := keyring(t, 1)
	p := encode(t, keys, alice)
	if got := string(p.Metadata["encoding"]); got != payloadcodec.EncodingEncrypted {
		t.Fatalf("encoding = %q, want %q", got, payloadcodec.EncodingEncrypted)
	}
	if got := string(p.Metadata[payloadcodec.MetadataKeyID]); got != keys.PayloadKeyID() {
		t.Fatalf("key id = %q, want %q", got, keys.PayloadKeyID())
	}
	if len(p.Metadata) != 2 {
		t.Fatalf("metadata %v says more than the encoding and key", p.Metadata)
	}
	for _, s := range []string{alice.AuthID, alice.IP, alice.UserAgent, "json/plain"} {
		if bytes.Contains(p.Data, []byte(s)) {
			t.Fatalf("encrypted payload contains %q", s)
		}
	}
	var got input
	if err := dataConverter(keys).FromPayload(p, &got); err != nil || got != alice {
		t.Fatalf("FromPayload = %+v, %v", got, err)
	}
	again := encode(t, keys, alice)
	if bytes.Equal(again.Data, p.Data) {
		t.Fatal("the same value encrypted twice gives the same bytes: nonces are not fresh")
	}
}

func TestCodecRotation(t *testing.T) {
	old := keyring(t, 1)
	p := encode(t, old, alice)

	t.Run("payloads of the previous key decode when it is supplied", func(t *testing.T) {
		var got input
		if err := dataConverter(keyring(t, 2, 1)).FromPayload(p, &got); err != nil || got != alice {
			t.Fatalf("FromPayload = %+v, %v", got, err)
		}
	})
	t.Run("new payloads use the current key", func(t *testing.T) {
		rotated := keyring(t, 2, 1)
		q := encode(t, rotated, alice)
		if got := string(q.Metadata[payloadcodec.MetadataKeyID]); got != rotated.PayloadKeyID() || got == old.PayloadKeyID() {
			t.Fatalf("key id = %q, want the new key %q", got, rotated.PayloadKeyID())
		}
	})
	t.Run("payloads of the previous key fail without it", func(t *testing.T) {
		var got input
		err := dataConverter(keyring(t, 2)).FromPayload(p, &got)
		if !errors.Is(err, secret.ErrUnknownKey) {
			t.Fatalf("FromPayload = %+v, %v; want ErrUnknownKey", got, err)
		}
	})
}

func TestCodecRefusesTamperedPayloads(t *testing.T) {
	keys := keyring(t, 1)
	other := keyring(t, 3, 1) // holds the real key, and another
	tests := []struct {
		name   string
		keys   payloadcodec.Keys
		change func(p *commonpb.Payload)
		want   error
	}{
		{"a flipped ciphertext bit", keys, func(p *commonpb.Payload) { p.Data[len(p.Data)-3] ^= 1 }, secret.ErrOpen},
		{"a flipped nonce bit", keys, func(p *commonpb.Payload) { p.Data[0] ^= 1 }, secret.ErrOpen},
		{"a truncated payload", keys, func(p *commonpb.Payload) { p.Data = p.Data[:4] }, secret.ErrOpen},
		{"another known key id", other, func(p *commonpb.Payload) {
			p.Metadata[payloadcodec.MetadataKeyID] = []byte(other.PayloadKeyID())
		}, secret.ErrOpen},
		{"an unknown key id", keys, func(p *commonpb.Payload) { p.Metadata[payloadcodec.MetadataKeyID] = []byte("0000000000000000") }, secret.ErrUnknownKey},
		{"no key id", keys, func(p *commonpb.Payload) { delete(p.Metadata, payloadcodec.MetadataKeyID) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an error", func(t *testing.T) {
			p := encode(t, keys, alice)
			tt.change(p)
			out, err := payloadcodec.New(tt.keys).Decode([]*commonpb.Payload{p})
			if err == nil {
				t.Fatalf("Decode = %v, want an error", out)
			}
			if out != nil {
				t.Fatalf("Decode returned payloads %v with its error", out)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCodecPassesPlainPayloadsThrough(t *testing.T) {
	plain, err := converter.GetDefaultDataConverter().ToPayloads(alice, nil, []byte("raw"))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := payloadcodec.New(keyring(t, 1)).Decode(plain.Payloads)
	if err != nil {
		t.Fatal(err)
	}
	for i := range dec {
		if dec[i] != plain.Payloads[i] {
			t.Fatalf("plain payload %d changed: %v", i, dec[i])
		}
	}
	var got input
	if err := dataConverter(keyring(t, 1)).FromPayload(plain.Payloads[0], &got); err != nil || got != alice {
		t.Fatalf("FromPayload of a plain payload = %+v, %v", got, err)
	}
}

func TestFailuresAreEncrypted(t *testing.T) {
	keys := keyring(t, 1)
	fc := payloadcodec.ClientOptions(keys, client.Options{}).FailureConverter
	f := fc.ErrorToFailure(errors.New(`load user "alice" from 203.0.113.7`))
	if strings.Contains(f.String(), "alice") || strings.Contains(f.String(), "203.0.113.7") {
		t.Fatalf("failure holds the message in clear: %v", f)
	}
	if got := string(f.GetEncodedAttributes().GetMetadata()["encoding"]); got != payloadcodec.EncodingEncrypted {
		t.Fatalf("encoded attributes encoding = %q, want %q", got, payloadcodec.EncodingEncrypted)
	}
	if err := fc.FailureToError(f); !strings.Contains(err.Error(), `load user "alice" from 203.0.113.7`) {
		t.Fatalf("decoded failure = %v", err)
	}
}
