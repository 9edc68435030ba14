package embedtemporal

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/server/common/log/tag"
)

func TestServerLogsBelowWarnAreDropped(t *testing.T) {
	var buf bytes.Buffer
	logger := newSlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), slog.LevelWarn)

	logger.Debug("debug line")
	logger.Info("info line")
	logger.With(tag.NewStringTag("component", "history")).Warn("warn line", tag.NewInt("shard-id", 1))
	logger.DPanic("dpanic line")

	out := buf.String()
	for _, dropped := range []string{"debug line", "info line"} {
		if strings.Contains(out, dropped) {
			t.Errorf("log has %q, want it dropped:\n%s", dropped, out)
		}
	}
	for _, kept := range []string{`level=WARN msg="warn line" component=history shard-id=1`, `level=ERROR msg="dpanic line"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("log lacks %q:\n%s", kept, out)
		}
	}
}
