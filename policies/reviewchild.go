package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// reviewRequest is what a Reviewer writes to its child's stdin.
type reviewRequest struct {
	Rego  string `json:"rego"`
	Tests string `json:"tests"`
}

// reviewWire is a Review as the child writes it to its stdout.
type reviewWire struct {
	Refusal  string       `json:"refusal,omitempty"`
	Problems []Problem    `json:"problems,omitempty"`
	Tests    []TestResult `json:"tests,omitempty"`
}

func (w reviewWire) review() Review {
	return Review{Refusal: w.Refusal, Problems: w.Problems, Tests: w.Tests}
}

// ServeReviewChild is the review child's work: it reads one upload from in,
// reviews it with ReviewUpload and writes the verdict to out. It must run
// in a process limited as a Reviewer limits its children, never in the
// API's: it is what `flexauth policy review-child` runs, and what a test
// binary's TestMain runs when ReviewChildEnv is set. The returned error is
// for a request it could not read or a verdict it could not write; a
// refused policy is a verdict.
func ServeReviewChild(ctx context.Context, in io.Reader, out io.Writer) error {
	var req reviewRequest
	if err := json.NewDecoder(io.LimitReader(in, maxReviewInput)).Decode(&req); err != nil {
		return fmt.Errorf("read policy review request: %w", err)
	}
	review, err := ReviewUpload(ctx, req.Rego, req.Tests)
	if err != nil {
		return err
	}
	w := reviewWire{Refusal: review.Refusal, Problems: review.Problems, Tests: review.Tests}
	if err := json.NewEncoder(out).Encode(w); err != nil {
		return fmt.Errorf("write policy review: %w", err)
	}
	return nil
}
