package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/flexauth/flexauth/policies"
)

// policyReviewFlags bound the review of uploaded policies (`api`, `dev`):
// each runs in a child process (`flexauth policy review-child`) with these
// limits.
type policyReviewFlags struct {
	memoryMiB  int64
	cpu        time.Duration
	timeout    time.Duration
	concurrent int
	err        error // a bad value in the environment
}

// policyReviewEnv names each flag's environment variable.
var policyReviewEnv = []struct{ flag, env string }{
	{"policy-review-memory", "FLEXAUTH_POLICY_REVIEW_MEMORY"},
	{"policy-review-cpu", "FLEXAUTH_POLICY_REVIEW_CPU"},
	{"policy-review-timeout", "FLEXAUTH_POLICY_REVIEW_TIMEOUT"},
	{"policy-reviews", "FLEXAUTH_POLICY_REVIEWS"},
}

const (
	// minReviewMemoryMiB is the least memory worth giving a review: the
	// flexauth binary needs about 150 MiB of data to start.
	minReviewMemoryMiB = 256
	// maxReviewTimeout leaves an upload that waited for its turn (up to
	// policies.DefaultReviewWait) time to be answered within the HTTP
	// server's 30s write timeout (newHTTPServer).
	maxReviewTimeout = 30*time.Second - policies.DefaultReviewWait
)

func (p *policyReviewFlags) register(fs *flag.FlagSet) {
	fs.Int64Var(&p.memoryMiB, "policy-review-memory", policies.DefaultReviewMemory>>20,
		"MiB of memory the review of an uploaded policy (compile, run its tests) may use, at least 256 (env FLEXAUTH_POLICY_REVIEW_MEMORY)")
	fs.DurationVar(&p.cpu, "policy-review-cpu", policies.DefaultReviewCPU,
		"CPU time a policy review may use, whole seconds (env FLEXAUTH_POLICY_REVIEW_CPU)")
	fs.DurationVar(&p.timeout, "policy-review-timeout", policies.DefaultReviewTimeout,
		"wall-clock time after which a policy review is stopped, at most 25s (env FLEXAUTH_POLICY_REVIEW_TIMEOUT)")
	fs.IntVar(&p.concurrent, "policy-reviews", policies.DefaultReviewConcurrent,
		"policy reviews at once; further uploads wait a few seconds, then get 503 (env FLEXAUTH_POLICY_REVIEWS)")
	// The environment sets the defaults; flags on the command line win.
	for _, e := range policyReviewEnv {
		if v := os.Getenv(e.env); v != "" {
			if err := fs.Set(e.flag, v); err != nil && p.err == nil {
				p.err = fmt.Errorf("%s=%q: %w", e.env, v, err)
			}
		}
	}
}

// config is the reviewer configuration the flags describe.
func (p *policyReviewFlags) config() (policies.ReviewerConfig, error) {
	switch {
	case p.err != nil:
		return policies.ReviewerConfig{}, p.err
	case p.memoryMiB < minReviewMemoryMiB:
		return policies.ReviewerConfig{}, fmt.Errorf("--policy-review-memory %d: at least %d MiB", p.memoryMiB, minReviewMemoryMiB)
	case p.cpu <= 0 || p.timeout <= 0:
		return policies.ReviewerConfig{}, fmt.Errorf("--policy-review-cpu %s, --policy-review-timeout %s: both must be positive", p.cpu, p.timeout)
	case p.timeout > maxReviewTimeout:
		return policies.ReviewerConfig{}, fmt.Errorf("--policy-review-timeout %s: at most %s, so that the upload is answered within the API's 30s write timeout", p.timeout, maxReviewTimeout)
	case p.concurrent < 1:
		return policies.ReviewerConfig{}, fmt.Errorf("--policy-reviews %d: at least 1", p.concurrent)
	}
	return policies.ReviewerConfig{Memory: p.memoryMiB << 20, CPU: p.cpu, Timeout: p.timeout, Concurrent: p.concurrent}, nil
}
