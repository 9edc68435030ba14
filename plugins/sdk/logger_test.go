package sdk

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

// The host (go-plugin) only structures plugin log lines that use hclog's
// keys and timestamp layout; anything else arrives as unparsed text.
func TestLoggerWritesHCLogJSON(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: hclogAttr}))
	l.Warn("provider slow", "attempt", "att-1")

	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.Bytes())
	}
	if rec["@message"] != "provider slow" || rec["@level"] != "warn" || rec["attempt"] != "att-1" {
		t.Errorf("record = %v", rec)
	}
	ts, _ := rec["@timestamp"].(string)
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
		t.Errorf("timestamp %q does not parse as go-plugin expects: %v", ts, err)
	}
}
