package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/flexauth/flexauth/worker"
)

// A workflow that panics fails, under the options production runs its
// worker with, instead of having its task retried for ever: an attempt
// whose code is broken ends closed.
func TestPanickingWorkflowFails(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	// sdkworker.New, not temporaltest's NewWorkerWithOptions, which would
	// set the panic policy itself.
	w := sdkworker.New(c, "panics", worker.SDKOptions(worker.Options{StopTimeout: time.Second}))
	w.RegisterWorkflowWithOptions(func(workflow.Context) error { panic("broken") }, workflow.RegisterOptions{Name: "Broken"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "panics"}, "Broken")
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	var panicked *temporal.PanicError
	if !errors.As(err, &panicked) {
		t.Fatalf("the workflow ended with %v, want it failed with its panic", err)
	}
}

// A negative workflow cache size is refused before a worker is made.
func TestStartRefusesNegativeCacheSize(t *testing.T) {
	if _, err := worker.Start(nil, nil, worker.Options{CacheSize: -1}); err == nil {
		t.Fatal("Start took a cache size of -1")
	}
}
