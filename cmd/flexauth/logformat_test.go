package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/secret"
)

func TestLogFormat(t *testing.T) {
	t.Setenv("FLEXAUTH_MASTER_KEY", base64.StdEncoding.EncodeToString(make([]byte, secret.MasterKeySize)))
	t.Setenv("FLEXAUTH_CODEC_TOKEN", "")
	// A stopped context: the codec server logs that it listens, then stops.
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	logLines := func(t *testing.T, env string, args ...string) []string {
		t.Helper()
		t.Setenv("FLEXAUTH_LOG_FORMAT", env)
		var stderr bytes.Buffer
		if err := run(stopped, append(args, "codec-server", "--addr", freeAddr(t)), io.Discard, &stderr); err != nil {
			t.Fatalf("run: %v\n%s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) == 0 || lines[0] == "" {
			t.Fatal("no log line")
		}
		return lines
	}
	isJSON := func(line string) bool {
		var v map[string]any
		return json.Unmarshal([]byte(line), &v) == nil && v["msg"] != nil
	}

	t.Run("--log-format json makes every line a JSON object", func(t *testing.T) {
		for _, line := range logLines(t, "", "--log-format", "json") {
			if !isJSON(line) {
				t.Errorf("not a JSON log line: %s", line)
			}
		}
	})
	t.Run("after the command too", func(t *testing.T) {
		t.Setenv("FLEXAUTH_LOG_FORMAT", "")
		var stderr bytes.Buffer
		if err := run(stopped, []string{"codec-server", "--log-format=json", "--addr", freeAddr(t)}, io.Discard, &stderr); err != nil {
			t.Fatalf("run: %v\n%s", err, stderr.String())
		}
		for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			if !isJSON(line) {
				t.Errorf("not a JSON log line: %s", line)
			}
		}
		if err := run(stopped, []string{"migrate", "--log-format"}, io.Discard, &stderr); err == nil || !strings.Contains(err.Error(), "needs a value") {
			t.Errorf("--log-format without a value: err = %v", err)
		}
	})
	t.Run("FLEXAUTH_LOG_FORMAT=json does too", func(t *testing.T) {
		for _, line := range logLines(t, "json") {
			if !isJSON(line) {
				t.Errorf("not a JSON log line: %s", line)
			}
		}
	})
	t.Run("text by default", func(t *testing.T) {
		for _, line := range logLines(t, "") {
			if isJSON(line) || !strings.Contains(line, "msg=") {
				t.Errorf("not a text log line: %s", line)
			}
		}
	})
	t.Run("the flag wins over the environment", func(t *testing.T) {
		for _, line := range logLines(t, "json", "--log-format", "text") {
			if isJSON(line) {
				t.Errorf("not a text log line: %s", line)
			}
		}
	})
	for _, tt := range []struct{ name, env string }{{"a bad flag value is refused", ""}, {"a bad environment value is refused", "xml"}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FLEXAUTH_LOG_FORMAT", tt.env)
			args := []string{"migrate"}
			if tt.env == "" {
				args = append([]string{"--log-format", "xml"}, args...)
			}
			var stderr bytes.Buffer
			err := run(context.Background(), args, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), `"xml"`) || !strings.Contains(err.Error(), "want text or json") {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(stderr.String(), "--log-format") {
				t.Errorf("no usage on stderr:\n%s", stderr.String())
			}
		})
	}
}
