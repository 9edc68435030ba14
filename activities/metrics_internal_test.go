package activities

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// TestPluginOutcome: the host's error classes map to the outcome label,
// a refused sign-on (permanent too) as refused.
func TestPluginOutcome(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{errors.New("smtp: 451 try later"), "temporary"},
		{fmt.Errorf("deliver through plugin %q: %w", "mail", sdk.ErrPluginExited), "temporary"},
		{sdk.Permanent(errors.New("bad recipient")), "permanent"},
		{fmt.Errorf("%w: %w: %s", sdk.ErrPermanent, sdk.ErrRefused, "domain not allowed"), "refused"},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), "timeout"},
		{context.Canceled, "canceled"},
	} {
		if got := pluginOutcome(c.err); got != c.want {
			t.Errorf("pluginOutcome(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
