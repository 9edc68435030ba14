package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// A grace that does not parse, or is not positive, stops the start of
// both api and worker before anything opens.
func TestShutdownGraceIsChecked(t *testing.T) {
	runs := map[string]func(context.Context, []string, *slog.Logger) error{"api": runAPI, "worker": runWorker}
	for name, run := range runs {
		for _, grace := range []string{"0s", "-1s", "soon"} {
			err := run(context.Background(), []string{"--shutdown-grace", grace}, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), "--shutdown-grace") {
				t.Errorf("%s --shutdown-grace %s: %v, want an error naming the flag", name, grace, err)
			}
		}
	}
}
