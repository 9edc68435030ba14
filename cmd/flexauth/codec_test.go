package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/secret"
)

func TestCodecServer(t *testing.T) {
	oldKey := bytes.Repeat([]byte{1}, secret.MasterKeySize)
	newKey := bytes.Repeat([]byte{2}, secret.MasterKeySize)
	b64 := base64.StdEncoding.EncodeToString
	t.Setenv("FLEXAUTH_MASTER_KEY", b64(newKey))
	t.Setenv("FLEXAUTH_PREVIOUS_MASTER_KEYS", "")
	t.Setenv("FLEXAUTH_CODEC_TOKEN", "")

	// A payload recorded before a rotation, sealed under the old key.
	oldRing, err := secret.New(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := payloadcodec.ClientOptions(oldRing, client.Options{}).DataConverter.ToPayload("alice")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("an address other than loopback needs a token", func(t *testing.T) {
		for _, addr := range []string{"0.0.0.0:0", ":0"} {
			err := run(context.Background(), []string{"codec-server", "--addr", addr}, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "needs --token") {
				t.Fatalf("--addr %s: err = %v", addr, err)
			}
		}
	})
	t.Run("a cors origin must be an origin", func(t *testing.T) {
		err := run(context.Background(), []string{"codec-server", "--cors-origin", "http://ui.example/path"}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--cors-origin") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no master key is an error", func(t *testing.T) {
		t.Setenv("FLEXAUTH_MASTER_KEY", "")
		err := run(context.Background(), []string{"codec-server", "--addr", freeAddr(t)}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "FLEXAUTH_MASTER_KEY") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("after a rotation, decodes old payloads only with the previous key", func(t *testing.T) {
		t.Setenv("FLEXAUTH_CODEC_TOKEN", "tok")
		url := startCodecServer(t, "--addr", freeAddr(t))
		if status, body := decodeAt(t, url, "Bearer tok", sealed); status != http.StatusBadRequest {
			t.Fatalf("without the previous key: decode = %d %s, want 400", status, body)
		}
		t.Setenv("FLEXAUTH_PREVIOUS_MASTER_KEYS", b64(oldKey))
		url = startCodecServer(t, "--addr", freeAddr(t))
		if status, body := decodeAt(t, url, "Bearer tok", sealed); status != http.StatusOK || !strings.Contains(body, base64.StdEncoding.EncodeToString([]byte(`"alice"`))) {
			t.Fatalf("with the previous key: decode = %d %s", status, body)
		}
		if status, _ := decodeAt(t, url, "", sealed); status != http.StatusUnauthorized {
			t.Fatalf("without the token: decode = %d, want 401", status)
		}
	})
	t.Run("reads the master key from a file", func(t *testing.T) {
		t.Setenv("FLEXAUTH_MASTER_KEY", "")
		file := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(file, []byte(b64(oldKey)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		url := startCodecServer(t, "--addr", freeAddr(t), "--master-key-file", file)
		if status, body := decodeAt(t, url, "", sealed); status != http.StatusOK {
			t.Fatalf("decode = %d %s", status, body)
		}
	})
}

// startCodecServer runs `flexauth codec-server args...` until the test
// ends and returns its URL once it answers.
func startCodecServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"codec-server"}, args...), io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, flag.ErrHelp) {
			t.Errorf("codec-server: %v", err)
		}
	})
	url := "http://" + args[1]
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Post(url+"/decode", "application/json", strings.NewReader(`{"payloads":[]}`)); err == nil {
			res.Body.Close()
			return url
		}
		select {
		case err := <-done:
			t.Fatalf("codec-server stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("codec-server did not answer within 10s")
	return ""
}

func decodeAt(t *testing.T, url, auth string, p *commonpb.Payload) (int, string) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url+"/decode", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}
