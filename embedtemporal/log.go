package embedtemporal

import (
	"context"
	"log/slog"

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

// DPanic, Panic and Fatal are logged as errors and return: an embedded server
// must not exit or crash its host process (Temporal's CLI dev server and
// temporaltest do the same).
func (l slogLogger) DPanic(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }
func (l slogLogger) Panic(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags) }
func (l slogLogger) Fatal(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags) }

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
