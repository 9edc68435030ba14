package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// A workflow cache that is not a positive count stops worker and dev
// before anything opens, whether it comes from the flag or the
// environment.
func TestWorkflowCacheIsChecked(t *testing.T) {
	dev := func(ctx context.Context, args []string, logger *slog.Logger) error {
		return runDev(ctx, append([]string{"--data", t.TempDir()}, args...), io.Discard, logger)
	}
	runs := map[string]func(context.Context, []string, *slog.Logger) error{"worker": runWorker, "dev": dev}
	for name, run := range runs {
		for _, size := range []string{"0", "-5"} {
			err := run(context.Background(), []string{"--workflow-cache", size}, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), "--workflow-cache") {
				t.Errorf("%s --workflow-cache %s: %v, want an error naming the flag", name, size, err)
			}
		}
		t.Setenv("FLEXAUTH_WORKFLOW_CACHE", "lots")
		err := run(context.Background(), nil, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "FLEXAUTH_WORKFLOW_CACHE") {
			t.Errorf("%s with FLEXAUTH_WORKFLOW_CACHE=lots: %v, want an error naming the variable", name, err)
		}
		t.Setenv("FLEXAUTH_WORKFLOW_CACHE", "")
	}
}
