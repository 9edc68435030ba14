package api_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/flexauth/flexauth/policies"
)

// TestMain lets this test binary serve as the child process that reviews
// uploaded policies: the API starts its own executable with
// policies.ReviewChildEnv set, as `flexauth policy review-child` in
// production.
func TestMain(m *testing.M) {
	if os.Getenv(policies.ReviewChildEnv) != "" {
		if err := policies.ServeReviewChild(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "review child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
