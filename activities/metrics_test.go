package activities_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
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

// brokenPolicy fails as a policy that cannot be evaluated does.
type brokenPolicy struct{}

func (brokenPolicy) Decide(ctx context.Context, in policies.Input) (policies.Decision, error) {
	return policies.Unavailable{Err: errors.New("compile policy: rego_parse_error")}.Decide(ctx, in)
}

// denyingPolicy denies, well-formed.
type denyingPolicy struct{}

func (denyingPolicy) Decide(context.Context, policies.Input) (policies.Decision, error) {
	return policies.Decision{Allow: false, Reasons: []string{"not today"}}, nil
}

// TestPolicyDecisionsAreCounted: every decision is counted by outcome (the
// method allowed, deny, error) and timed; a broken policy counts as an
// error and still denies.
func TestPolicyDecisionsAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, c := range []struct {
		name    string
		policy  activities.Policy
		allowed bool
	}{
		{"the built-in policy allows pin", nil, true},
		{"a denial", denyingPolicy{}, false},
		{"a broken policy", brokenPolicy{}, false},
	} {
		f := newFixtureWith(t, c.policy, activities.Config{Metrics: reg})
		if res := f.begin(t, f.input); res.Allowed != c.allowed {
			t.Fatalf("%s: begin = %+v, want allowed %v", c.name, res, c.allowed)
		}
	}
	want := `
# HELP flexauth_policy_decisions_total Policy decisions on sign-in attempts, by outcome: the method allowed, deny, or error (the policy failed; the attempt is denied).
# TYPE flexauth_policy_decisions_total counter
flexauth_policy_decisions_total{outcome="deny"} 1
flexauth_policy_decisions_total{outcome="error"} 1
flexauth_policy_decisions_total{outcome="pin"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "flexauth_policy_decisions_total"); err != nil {
		t.Fatal(err)
	}
	if n := histogramCount(t, reg, "flexauth_policy_decision_duration_seconds", nil); n != 3 {
		t.Fatalf("decision durations observed = %d, want 3", n)
	}
}

// TestPluginCallsAreCounted: every plugin call is counted by plugin, call,
// channel and outcome, and timed; nothing of the user is a label.
func TestPluginCallsAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixtureWith(t, nil, activities.Config{Metrics: reg, Directory: "directory"})
	f.sent.people = map[string]sdk.Identity{"alice": {Found: true, Email: "alice@example.com"}}
	if res := f.begin(t, f.input); !res.Allowed {
		t.Fatalf("begin = %+v, want allowed", res)
	}
	issue := func() error {
		_, err := f.acts.IssueChallenge(context.Background(), activities.IssueInput{Subject: f.input, UserID: "u1", Method: "pin", ExpiresAt: f.now.Add(time.Minute)})
		return err
	}
	for _, sendErr := range []error{
		errors.New("mail server down"),
		sdk.Permanent(errors.New("invalid address")),
		fmt.Errorf("deliver through plugin %q: %w", "outbox", context.DeadlineExceeded),
		nil,
	} {
		f.sent.err = sendErr
		if err := issue(); (err == nil) != (sendErr == nil) {
			t.Fatalf("issue with send error %v: %v", sendErr, err)
		}
	}
	// The directory is asked at begin and at each issue, for contact data.
	want := `
# HELP flexauth_plugin_calls_total Calls to plugins, by plugin, call (send, lookup, authorize, exchange), channel (send only) and outcome: ok, temporary, permanent, refused, timeout, canceled.
# TYPE flexauth_plugin_calls_total counter
flexauth_plugin_calls_total{call="lookup",channel="",outcome="ok",plugin="directory"} 5
flexauth_plugin_calls_total{call="send",channel="email",outcome="ok",plugin="outbox"} 1
flexauth_plugin_calls_total{call="send",channel="email",outcome="permanent",plugin="outbox"} 1
flexauth_plugin_calls_total{call="send",channel="email",outcome="temporary",plugin="outbox"} 1
flexauth_plugin_calls_total{call="send",channel="email",outcome="timeout",plugin="outbox"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "flexauth_plugin_calls_total"); err != nil {
		t.Fatal(err)
	}
	if n := histogramCount(t, reg, "flexauth_plugin_call_duration_seconds", map[string]string{"plugin": "outbox", "call": "send", "channel": "email"}); n != 4 {
		t.Fatalf("send durations observed = %d, want 4", n)
	}
	if n := histogramCount(t, reg, "flexauth_plugin_call_duration_seconds", map[string]string{"plugin": "directory", "call": "lookup", "channel": ""}); n != 5 {
		t.Fatalf("lookup durations observed = %d, want 5", n)
	}
	families, err := reg.Gather()
	must(t, err)
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				for _, leak := range []string{"alice", "u1", "198.51.100.7", "att1"} {
					if strings.Contains(l.GetValue(), leak) {
						t.Errorf("%s label %s=%q names the user or attempt", mf.GetName(), l.GetName(), l.GetValue())
					}
				}
			}
		}
	}
}

// histogramCount is the number of observations of the histogram name whose
// labels are labels (nil: the only series).
func histogramCount(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	must(t, err)
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}
