package policies

import (
	"context"
	"fmt"
)

// Unavailable stands in for a policy that could not be loaded (it failed to
// compile, or its source could not be read): every decision denies and says
// why, so a broken policy never lets anyone in.
type Unavailable struct {
	Err error
}

// Decide denies, with the load error as the reason.
func (u Unavailable) Decide(_ context.Context, _ Input) (Decision, error) {
	err := fmt.Errorf("policy unavailable: %w", u.Err)
	return Decision{Allow: false, Reasons: []string{"policy error: " + err.Error()}}, err
}
