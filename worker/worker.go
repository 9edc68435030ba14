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

// Start starts a worker for the attempt task queue. Its Stop stops polling
// and waits up to stopTimeout for the activities under way (a delivery to
// a slow mail server) to finish before it cancels them: a worker stopped
// with SIGTERM hands nothing half done to the others.
func Start(c client.Client, acts *activities.Activities, stopTimeout time.Duration) (sdkworker.Worker, error) {
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		WorkerStopTimeout: stopTimeout,
		// A panic or non-determinism fails the attempt closed instead of
		// retrying the workflow task forever.
		WorkflowPanicPolicy: sdkworker.FailWorkflow,
	})
	Register(w, acts)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}
