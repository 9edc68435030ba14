package sdk

import (
	"io"
	"log/slog"
	"syscall"
)

// Logger returns a logger for plugin code whose records reach the host's
// logger with their level and attributes intact (tagged with the plugin's
// name there). Plugins must not log secrets: the host's logs are not a
// secret store.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(stderrFD{}, &slog.HandlerOptions{
		Level:       slog.LevelDebug,
		ReplaceAttr: hclogAttr,
	}))
}

// hclogAttr renames slog's built-in keys to the hclog JSON keys go-plugin's
// host parses from plugin stderr ("@timestamp", "@level", "@message").
func hclogAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		// go-plugin parses exactly this layout; any other is a parse error
		// and the whole line is logged as unstructured text.
		return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
	case slog.LevelKey:
		level, _ := a.Value.Any().(slog.Level)
		return slog.String("@level", hclogLevel(level))
	case slog.MessageKey:
		return slog.String("@message", a.Value.String())
	}
	return a
}

func hclogLevel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}

// stderrFD writes to file descriptor 2 directly. go-plugin replaces
// os.Stderr inside a served plugin with a pipe whose output the host
// discards; the descriptor itself is what the host reads logs from.
type stderrFD struct{}

var _ io.Writer = stderrFD{}

func (stderrFD) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Write(syscall.Stderr, p[n:])
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}
