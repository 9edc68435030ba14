package payloadcodec_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flexauth/flexauth/payloadcodec"
)

// codecRequest is one call to a codec endpoint.
type codecRequest struct {
	method, path, host, origin, auth string
	payloads                         []*commonpb.Payload
	preflight                        bool
}

func serve(t *testing.T, h http.Handler, r codecRequest) *httptest.ResponseRecorder {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: r.payloads})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(r.method, "http://127.0.0.1:8089"+r.path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if r.host != "" {
		req.Host = r.host
	}
	if r.origin != "" {
		req.Header.Set("Origin", r.origin)
	}
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	if r.preflight {
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Private-Network", "true")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decodedPayloads(t *testing.T, rec *httptest.ResponseRecorder) []*commonpb.Payload {
	t.Helper()
	raw, _ := io.ReadAll(rec.Body)
	var out commonpb.Payloads
	if err := protojson.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %q is not payloads: %v", raw, err)
	}
	return out.Payloads
}

func TestCodecEndpoint(t *testing.T) {
	keys := keyring(t, 1)
	codec := payloadcodec.New(keys)
	sealed := encode(t, keys, alice)
	const ui = "http://localhost:8233"
	withToken := payloadcodec.NewHandler(codec, payloadcodec.HandlerOptions{Token: "s3cret", CORSOrigin: ui})
	loopbackOnly := payloadcodec.NewHandler(codec, payloadcodec.HandlerOptions{})

	t.Run("decode answers the payload in clear with the token", func(t *testing.T) {
		rec := serve(t, withToken, codecRequest{method: "POST", path: "/decode", auth: "Bearer s3cret", payloads: []*commonpb.Payload{sealed}})
		if rec.Code != http.StatusOK {
			t.Fatalf("decode = %d %s", rec.Code, rec.Body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control = %q, want no-store", rec.Header().Get("Cache-Control"))
		}
		out := decodedPayloads(t, rec)
		if len(out) != 1 || string(out[0].Metadata["encoding"]) != "json/plain" || !strings.Contains(string(out[0].Data), `"AuthID":"alice"`) {
			t.Fatalf("decoded = %v", out)
		}
	})
	t.Run("encode then decode round-trips", func(t *testing.T) {
		plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"bob"`)}
		rec := serve(t, withToken, codecRequest{method: "POST", path: "/encode", auth: "Bearer s3cret", payloads: []*commonpb.Payload{plain}})
		enc := decodedPayloads(t, rec)
		if rec.Code != http.StatusOK || len(enc) != 1 || strings.Contains(string(enc[0].Data), "bob") {
			t.Fatalf("encode = %d %v", rec.Code, enc)
		}
		rec = serve(t, withToken, codecRequest{method: "POST", path: "/decode", auth: "Bearer s3cret", payloads: enc})
		if dec := decodedPayloads(t, rec); len(dec) != 1 || string(dec[0].Data) != `"bob"` {
			t.Fatalf("decode = %v", dec)
		}
	})
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Basic s3cret"} {
		t.Run("refused with Authorization "+auth, func(t *testing.T) {
			rec := serve(t, withToken, codecRequest{method: "POST", path: "/decode", auth: auth, payloads: []*commonpb.Payload{sealed}})
			if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "alice") {
				t.Fatalf("decode = %d %s, want 401", rec.Code, rec.Body)
			}
		})
	}
	t.Run("a tampered payload answers 400", func(t *testing.T) {
		bad := encode(t, keys, alice)
		bad.Data[len(bad.Data)-1] ^= 1
		rec := serve(t, withToken, codecRequest{method: "POST", path: "/decode", auth: "Bearer s3cret", payloads: []*commonpb.Payload{bad}})
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("decode = %d %s, want 400", rec.Code, rec.Body)
		}
	})
	t.Run("the UI origin's preflight is answered without the token", func(t *testing.T) {
		rec := serve(t, withToken, codecRequest{method: "OPTIONS", path: "/decode", origin: ui, preflight: true})
		h := rec.Header()
		if rec.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != ui ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Namespace") ||
			h.Get("Access-Control-Allow-Private-Network") != "true" {
			t.Fatalf("preflight = %d %v", rec.Code, h)
		}
	})
	t.Run("the UI origin decodes with the token", func(t *testing.T) {
		rec := serve(t, withToken, codecRequest{method: "POST", path: "/decode", origin: ui, auth: "Bearer s3cret", payloads: []*commonpb.Payload{sealed}})
		if rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != ui {
			t.Fatalf("decode = %d %v", rec.Code, rec.Header())
		}
	})
	t.Run("another origin is refused", func(t *testing.T) {
		for _, h := range []http.Handler{withToken, loopbackOnly} {
			rec := serve(t, h, codecRequest{method: "POST", path: "/decode", origin: "https://evil.example", auth: "Bearer s3cret", payloads: []*commonpb.Payload{sealed}})
			if rec.Code != http.StatusForbidden || rec.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Fatalf("decode = %d %v, want 403", rec.Code, rec.Header())
			}
		}
	})
	t.Run("without a token, loopback hosts are served", func(t *testing.T) {
		for _, host := range []string{"127.0.0.1:8089", "localhost:8089", "[::1]:8089", "localhost"} {
			rec := serve(t, loopbackOnly, codecRequest{method: "POST", path: "/decode", host: host, payloads: []*commonpb.Payload{sealed}})
			if rec.Code != http.StatusOK {
				t.Fatalf("Host %s: decode = %d %s", host, rec.Code, rec.Body)
			}
		}
	})
	t.Run("without a token, another host is refused (DNS rebinding)", func(t *testing.T) {
		for _, host := range []string{"evil.example:8089", "10.0.0.5:8089", "localhost.evil.example"} {
			rec := serve(t, loopbackOnly, codecRequest{method: "POST", path: "/decode", host: host, payloads: []*commonpb.Payload{sealed}})
			if rec.Code != http.StatusForbidden {
				t.Fatalf("Host %s: decode = %d, want 403", host, rec.Code)
			}
		}
	})
	t.Run("other methods and paths are refused", func(t *testing.T) {
		if rec := serve(t, withToken, codecRequest{method: "GET", path: "/decode", auth: "Bearer s3cret"}); rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("GET = %d, want 405", rec.Code)
		}
		if rec := serve(t, withToken, codecRequest{method: "POST", path: "/other", auth: "Bearer s3cret"}); rec.Code != http.StatusNotFound {
			t.Fatalf("POST /other = %d, want 404", rec.Code)
		}
	})
}

func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8089": true, "localhost:8089": true, "[::1]:8089": true,
		":8089": false, "0.0.0.0:8089": false, "10.1.2.3:8089": false, "codec.example:443": false, "127.0.0.1": false,
	} {
		if got := payloadcodec.LoopbackAddr(addr); got != want {
			t.Errorf("LoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestCodecEndpointServesTheSDKRemoteCodec decodes through the SDK's
// remote codec client, which the Temporal CLI uses for --codec-endpoint
// (with --codec-auth as the Authorization header).
func TestCodecEndpointServesTheSDKRemoteCodec(t *testing.T) {
	keys := keyring(t, 1)
	srv := httptest.NewServer(payloadcodec.NewHandler(payloadcodec.New(keys), payloadcodec.HandlerOptions{Token: "s3cret"}))
	t.Cleanup(srv.Close)
	remote := func(auth string) converter.PayloadCodec {
		return converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
			Endpoint: srv.URL,
			ModifyRequest: func(r *http.Request) error {
				r.Header.Set("Authorization", auth)
				r.Header.Set("X-Namespace", "default")
				return nil
			},
		})
	}
	sealed := encode(t, keys, alice)
	out, err := remote("Bearer s3cret").Decode([]*commonpb.Payload{sealed})
	if err != nil {
		t.Fatal(err)
	}
	var got input
	if err := converter.GetDefaultDataConverter().FromPayload(out[0], &got); err != nil || got != alice {
		t.Fatalf("remote decode = %+v, %v", got, err)
	}
	if _, err := remote("Bearer wrong").Decode([]*commonpb.Payload{sealed}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("remote decode with a wrong token: err = %v", err)
	}
}
