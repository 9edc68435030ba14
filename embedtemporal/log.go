package embedtemporal

import (
	"context"
	"log/slog"
	"os"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogLogger adapts Temporal's server logger to slog, dropping everything
// below minLevel before it is formatted.
type slogLogger struct {
	logger   *slog.Logger
	minLevel slog.Level
}

var (
	_ log.Logger     = slogLogger{}
	_ log.WithLogger = slogLogger{}
)

func newSlogLogger(logger *slog.Logger, minLevel slog.Level) slogLogger {
	return slogLogger{logger: logger, minLevel: minLevel}
}

func (l slogLogger) Debug(msg string, tags ...tag.Tag) { l.log(slog.LevelDebug, msg, tags) }
func (l slogLogger) Info(msg string, tags ...tag.Tag)  { l.log(slog.LevelInfo, msg, tags) }
func (l slogLogger) Warn(msg string, tags ...tag.Tag)  { l.log(slog.LevelWarn, msg, tags) }
func (l slogLogger) Error(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }

// DPanic logs as an error and returns, as zap does in production. Panic
// logs and panics, as zap does.
func (l slogLogger) DPanic(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }
func (l slogLogger) Panic(msg string, tags ...tag.Tag) {
	l.log(slog.LevelError, msg, tags)
	panic("temporal: " + msg)
}

// Fatal logs as an error and exits the process, as Temporal's own logger
// does. Temporal calls it only where it cannot go on, and its code after the
// call assumes it never returns: returning instead crashes a moment later on
// a nil pointer (seen when the frontend's port was taken; Start now checks
// that port first, so Fatal is for the unforeseen).
func (l slogLogger) Fatal(msg string, tags ...tag.Tag) {
	l.log(slog.LevelError, msg, tags)
	os.Exit(1)
}

// With returns a logger that adds tags to every record.
func (l slogLogger) With(tags ...tag.Tag) log.Logger {
	return slogLogger{logger: l.logger.With(attrsAsAny(tags)...), minLevel: l.minLevel}
}

func (l slogLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background() // Temporal's logger interface carries no context.
	if level < l.minLevel || !l.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
	}
	l.logger.LogAttrs(ctx, level, msg, attrs...)
}

func attrsAsAny(tags []tag.Tag) []any {
	args := make([]any, len(tags))
	for i, t := range tags {
		args[i] = slog.Any(t.Key(), t.Value())
	}
	return args
}
