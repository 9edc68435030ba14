package activities_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/store"
)

// TestEndedAttemptsAreCountedOnce: Finish run twice (a retried activity)
// counts the attempt's final state once, on the registry it was given.
func TestEndedAttemptsAreCountedOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixtureWith(t, nil, activities.Config{Metrics: reg})
	res := f.begin(t, f.input)
	if !res.Allowed {
		t.Fatalf("begin = %+v, want allowed", res)
	}
	in := activities.FinishInput{Subject: f.input, UserID: f.user.ID, State: store.AttemptAuthenticated, Factor: store.FactorPIN}
	for range 2 {
		must(t, f.acts.Finish(context.Background(), in))
	}
	want := `
# HELP flexauth_attempts_ended_total Attempts that reached a final state, by state: authenticated, expired, locked, denied.
# TYPE flexauth_attempts_ended_total counter
flexauth_attempts_ended_total{state="authenticated"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "flexauth_attempts_ended_total"); err != nil {
		t.Fatal(err)
	}
}
