package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// dumpChildEnv makes a review child answer with its environment and its
// resource limits instead of a review, so that a test can see what a child
// is given (see TestReviewerChildIsLimitedAndGetsNoSecrets).
const dumpChildEnv = "POLICIES_TEST_DUMP_CHILD"

// TestMain lets this test binary serve as the review child of the
// Reviewers the tests start (they run it with ReviewChildEnv set), as
// `flexauth policy review-child` does in production.
func TestMain(m *testing.M) {
	if os.Getenv(ReviewChildEnv) != "" {
		os.Exit(serveTestChild())
	}
	os.Exit(m.Run())
}

func serveTestChild() int {
	if os.Getenv(dumpChildEnv) != "" {
		limits, err := os.ReadFile("/proc/self/limits")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		refusal := strings.Join(os.Environ(), "\n") + "\n" + string(limits)
		if err := json.NewEncoder(os.Stdout).Encode(reviewWire{Refusal: refusal}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	if err := ServeReviewChild(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "review child:", err)
		return 1
	}
	return 0
}
