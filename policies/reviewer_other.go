//go:build !linux

package policies

import (
	"errors"
	"os"
	"time"
)

// limitChild refuses: the review sandbox relies on prlimit(2), which only
// Linux has, and an upload must not be reviewed without its limits.
func limitChild(int, ReviewerConfig) error {
	return errors.New("policy reviews run in a limited process only on Linux")
}

func usageOf(state *os.ProcessState) ReviewUsage {
	if state == nil {
		return ReviewUsage{}
	}
	return ReviewUsage{CPU: state.UserTime() + state.SystemTime()}
}

func killedForCPU(*os.ProcessState, ReviewUsage, time.Duration) bool { return false }
