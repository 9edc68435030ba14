package worker

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/workflows"
)

// Register registers the workflows (attempts, credential link deliveries)
// and acts on r.
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflow(workflows.Attempt)
	r.RegisterWorkflow(workflows.CredentialLink)
	r.RegisterActivity(acts)
}

// DefaultStopTimeout is the stop timeout `flexauth worker` and `flexauth
// dev` run with unless --shutdown-grace says otherwise: Docker's default
// stop_grace_period, after which it kills.
const DefaultStopTimeout = 10 * time.Second

// Options are how a worker process runs.
type Options struct {
	// StopTimeout is how long Stop waits for the activities under way (a
	// delivery to a slow mail server) to finish before it cancels them: a
	// worker stopped with SIGTERM hands nothing half done to the others.
	StopTimeout time.Duration
	// CacheSize bounds the attempts whose workflow state the process keeps
	// in memory between their tasks (Temporal's sticky cache, shared by
	// every worker of the process); 0 keeps the SDK's 10,000. An attempt
	// evicted from it costs nothing in memory while it waits: its next
	// task (a submitted code, its expiry) replays its history first, a few
	// milliseconds of CPU.
	CacheSize int
}

// Start starts a worker for the attempt task queue.
func Start(c client.Client, acts *activities.Activities, opts Options) (sdkworker.Worker, error) {
	if opts.CacheSize < 0 {
		return nil, fmt.Errorf("start worker: workflow cache size %d is negative", opts.CacheSize)
	}
	if opts.CacheSize > 0 {
		// Process-wide, and read when the first worker is made.
		sdkworker.SetStickyWorkflowCacheSize(opts.CacheSize)
	}
	w := sdkworker.New(c, workflows.TaskQueue, SDKOptions(opts))
	Register(w, acts)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}

// SDKOptions are the Temporal worker options Start runs a worker with, for
// a test that makes its workers itself (temporaltest's
// NewWorkerWithOptions) and must run them as production does. CacheSize is
// not among them: Start sets it for the process.
func SDKOptions(opts Options) sdkworker.Options {
	return sdkworker.Options{
		WorkerStopTimeout: opts.StopTimeout,
		// A panic or non-determinism fails the attempt closed instead of
		// retrying the workflow task forever.
		WorkflowPanicPolicy: sdkworker.FailWorkflow,
	}
}
