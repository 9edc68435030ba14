package api

import (
	"context"
	"errors"

	"go.temporal.io/sdk/client"

	"github.com/flexauth/flexauth/internal/health"
)

// storePinger is the store's part in /readyz.
type storePinger interface {
	Ping(ctx context.Context) error
}

// readinessChecks are what /readyz checks: the store answers, Temporal
// answers, and the plugins this process runs are launched (the API alone
// runs none: "ok"). The answer names each check and says "ok" or what
// failed, never why (the log says why).
func readinessChecks(st storePinger, wf workflowClient, plugins func(context.Context) error) []health.Check {
	return []health.Check{
		{Name: "store", Failure: "unreachable", Run: func(ctx context.Context) error {
			if st == nil {
				return errors.New("no store")
			}
			return st.Ping(ctx)
		}},
		{Name: "temporal", Failure: "unreachable", Run: func(ctx context.Context) error {
			if wf == nil {
				return errors.New("no temporal client")
			}
			_, err := wf.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
		{Name: "plugins", Failure: "not launched", Run: func(ctx context.Context) error {
			if plugins == nil {
				return nil
			}
			return plugins(ctx)
		}},
	}
}
