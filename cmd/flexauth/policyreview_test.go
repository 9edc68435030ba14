package main

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/policies"
)

// The real binary's hidden `policy review-child` reviews an upload for the
// API, in a child process under the reviewer's limits.
func TestPolicyReviewChildServesReviewsUnderLimits(t *testing.T) {
	bin := flexauthBinary(t)
	read := func(name string) string {
		raw, err := os.ReadFile("../../testdata/uploaded-policies/closed-vpn/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	rego, tests := read("risk.rego"), read("risk_test.rego")
	r := policies.NewReviewer(policies.ReviewerConfig{
		Command: []string{bin, "policy", "review-child"},
		Memory:  256 << 20, CPU: 5 * time.Second, Timeout: time.Minute,
	})

	t.Run("a good policy is accepted", func(t *testing.T) {
		got, err := r.Review(t.Context(), rego, tests)
		if err != nil || !got.Accepted() || len(got.Tests) != 2 {
			t.Fatalf("review = %+v, %v; want accepted with 2 tests", got, err)
		}
		t.Logf("child peak %d MiB, CPU %s", got.Usage.PeakMemory>>20, got.Usage.CPU)
	})
	t.Run("a policy whose tests allocate without bound is stopped at the memory limit", func(t *testing.T) {
		// A new array of 256 members at each of ten billion iterations:
		// no built-in call builds much (the built-in bounds would stop a
		// concat that did), and tests have no step budget.
		hog := tests + `
test_memory if {
	r := numbers.range(1, 100000)
	count([[` + strings.TrimSuffix(strings.Repeat("i, ", 256), ", ") + `] | some i in r; some j in r]) > 0
}
`
		got, err := r.Review(t.Context(), rego, hog)
		if err != nil || got.Limit != policies.LimitMemory ||
			got.Refusal != "the policy review needed more than 256 MiB of memory and was stopped" {
			t.Fatalf("review = %+v, %v; want refused at the memory limit", got, err)
		}
	})
}

func TestPolicyReviewFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    policies.ReviewerConfig
		wantErr string
	}{
		{
			name: "defaults",
			want: policies.ReviewerConfig{Memory: 512 << 20, CPU: 10 * time.Second, Timeout: 20 * time.Second, Concurrent: 2},
		},
		{
			name: "the environment sets them",
			env: map[string]string{
				"FLEXAUTH_POLICY_REVIEW_MEMORY": "300", "FLEXAUTH_POLICY_REVIEW_CPU": "3s",
				"FLEXAUTH_POLICY_REVIEW_TIMEOUT": "8s", "FLEXAUTH_POLICY_REVIEWS": "4",
			},
			want: policies.ReviewerConfig{Memory: 300 << 20, CPU: 3 * time.Second, Timeout: 8 * time.Second, Concurrent: 4},
		},
		{
			name: "flags win over the environment",
			env:  map[string]string{"FLEXAUTH_POLICY_REVIEW_MEMORY": "300"},
			args: []string{"--policy-review-memory", "1024", "--policy-reviews", "1"},
			want: policies.ReviewerConfig{Memory: 1024 << 20, CPU: 10 * time.Second, Timeout: 20 * time.Second, Concurrent: 1},
		},
		{name: "a bad value in the environment", env: map[string]string{"FLEXAUTH_POLICY_REVIEW_CPU": "ten"}, wantErr: `FLEXAUTH_POLICY_REVIEW_CPU="ten"`},
		{name: "too little memory", args: []string{"--policy-review-memory", "128"}, wantErr: "at least 256 MiB"},
		{name: "a timeout the API could not answer within", args: []string{"--policy-review-timeout", "1m"}, wantErr: "at most 25s"},
		{name: "no reviews at all", args: []string{"--policy-reviews", "0"}, wantErr: "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, e := range policyReviewEnv {
				t.Setenv(e.env, tt.env[e.env])
			}
			fs := flag.NewFlagSet("api", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var p policyReviewFlags
			p.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := p.config()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("config = %+v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Memory != tt.want.Memory || got.CPU != tt.want.CPU || got.Timeout != tt.want.Timeout ||
				got.Concurrent != tt.want.Concurrent || len(got.Command) != 0 {
				t.Fatalf("config = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
