package policies

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/attempt"
)

// signIn is a low-risk sign-in: a low-sensitivity system, a known IP, no
// failures. Cases change what they are about.
func signIn() Input {
	last := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	return Input{
		Subject: Subject{Account: "acc-1", AuthID: "alice", Assigned: attempt.MethodPIN, HasEmail: true},
		System: System{
			Name:        "wiki",
			Methods:     []string{attempt.MethodPasswordless, attempt.MethodPIN, attempt.MethodTOTP},
			Sensitivity: "low",
		},
		Request: Request{IP: "198.51.100.7", UserAgent: "test", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		History: History{LastIP: "198.51.100.7", LastLoginAt: &last, LoginCount: 3},
	}
}

func newEngine(t testing.TB, modules map[string]string) *Engine {
	t.Helper()
	e, err := New(t.Context(), modules)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func TestDecideWithDefaultPolicy(t *testing.T) {
	e := newEngine(t, Default())
	tests := []struct {
		name       string
		change     func(*Input)
		want       Decision // Reasons: each must be among the decision's reasons
		wantAbsent string   // a reason that must not be given
	}{
		{
			name:   "low sensitivity and a known IP keep the assigned method",
			change: func(*Input) {},
			want: Decision{Allow: true, Method: attempt.MethodPIN, TTLSeconds: 300, MaxAttempts: DefaultMaxAttempts, Risk: "low",
				Reasons: []string{"sensitivity low", "known IP 198.51.100.7", "no recent failures"}},
		},
		{
			name: "high sensitivity, a new IP and TOTP enrolment step up to totp",
			change: func(in *Input) {
				in.System.Sensitivity = "high"
				in.Subject.TOTPEnrolled = true
				in.Request.IP = "203.0.113.9"
				in.History.NewIP = true
			},
			want: Decision{Allow: true, Method: attempt.MethodTOTP, TTLSeconds: 120, MaxAttempts: 3, Risk: "high",
				Reasons: []string{"new IP 203.0.113.9", "step-up to totp: high-sensitivity system and new IP"}},
		},
		{
			name: "high risk without TOTP enrolment keeps the assigned method and says why",
			change: func(in *Input) {
				in.System.Sensitivity = "high"
				in.History.NewIP = true
			},
			want: Decision{Allow: true, Method: attempt.MethodPIN, TTLSeconds: 120, MaxAttempts: 3, Risk: "high",
				Reasons: []string{"no step-up: totp not enrolled"}},
			wantAbsent: "step-up to totp: high-sensitivity system and new IP",
		},
		{
			name: "a locked pin gives way to a link",
			change: func(in *Input) {
				in.History.RecentFailures, in.History.LockedFactors = DefaultMaxAttempts, []string{"pin"}
				in.Subject.HasEmail = true
			},
			want: Decision{Allow: true, Method: attempt.MethodPasswordless, TTLSeconds: 150, MaxAttempts: DefaultMaxAttempts, Risk: "medium",
				Channel: "email", Reasons: []string{"5 recent failures", "pin is locked after too many wrong codes: a link is sent instead"}},
		},
		{
			name: "a locked pin without links on the system is denied",
			change: func(in *Input) {
				in.History.LockedFactors = []string{"pin"}
				in.System.Methods = []string{attempt.MethodPIN}
			},
			want: Decision{Allow: false, Method: attempt.MethodPIN, TTLSeconds: 300, MaxAttempts: DefaultMaxAttempts, Risk: "low",
				Reasons: []string{"pin is locked after too many wrong codes"}},
		},
		{
			name:   "an assigned method the system does not enable is denied",
			change: func(in *Input) { in.System.Methods = []string{attempt.MethodPasswordless} },
			want: Decision{Allow: false, Method: attempt.MethodPIN, TTLSeconds: 300, MaxAttempts: DefaultMaxAttempts, Risk: "low",
				Reasons: []string{"assigned method pin is not enabled on system wiki"}},
		},
		{
			name:   "a system with no methods at all denies",
			change: func(in *Input) { in.System.Methods = nil },
			want: Decision{Allow: false, Method: attempt.MethodPIN, TTLSeconds: 300, MaxAttempts: DefaultMaxAttempts, Risk: "low",
				Reasons: []string{"assigned method pin is not enabled on system wiki"}},
		},
		{
			name: "a user with no contact address cannot receive a PIN",
			change: func(in *Input) {
				in.Subject.HasEmail = false
				in.Subject.HasPhone = false
			},
			want: Decision{Allow: false, Method: attempt.MethodPIN, TTLSeconds: 300, MaxAttempts: DefaultMaxAttempts, Risk: "low",
				Reasons: []string{"no contact address for delivery"}},
		},
		{
			name:   "a delivered secret never lives longer than the cap",
			change: func(in *Input) { in.System.TTLSeconds = 3600 },
			want: Decision{Allow: true, Method: attempt.MethodPIN, TTLSeconds: MaxDeliveredTTL, MaxAttempts: DefaultMaxAttempts, Risk: "low",
				Reasons: []string{"sensitivity low"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := signIn()
			tt.change(&in)
			got, err := e.Decide(t.Context(), in)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.Allow != tt.want.Allow || got.Method != tt.want.Method || got.TTLSeconds != tt.want.TTLSeconds ||
				got.MaxAttempts != tt.want.MaxAttempts || got.Risk != tt.want.Risk {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
			for _, r := range tt.want.Reasons {
				if !slices.Contains(got.Reasons, r) {
					t.Errorf("reasons %q lack %q", got.Reasons, r)
				}
			}
			if tt.wantAbsent != "" && slices.Contains(got.Reasons, tt.wantAbsent) {
				t.Errorf("reasons %q include %q", got.Reasons, tt.wantAbsent)
			}
		})
	}
}

// policy returns a one-module policy in package flexauth.risk.
func policy(rules string) map[string]string {
	return map[string]string{"policy.rego": "package flexauth.risk\n\n" + rules}
}

// allowPIN is a well-formed allowing decision, for cases to bend.
const allowPIN = `{"allow": true, "method": "pin", "ttl_seconds": 300, "max_attempts": 5, "reasons": ["ok"], "risk": "low"}`

func TestDecideFailsClosed(t *testing.T) {
	tests := []struct {
		name    string
		rules   string
		change  func(*Input)
		wantErr string
	}{
		{
			name:    "an undefined decision denies",
			rules:   `decision := ` + allowPIN + ` if input.subject.authid == "nobody"`,
			wantErr: "undefined",
		},
		{
			name:    "a decision that is a string denies",
			rules:   `decision := "allow"`,
			wantErr: "decode policy decision",
		},
		{
			name:    "a decision without a method denies",
			rules:   `decision := object.remove(` + allowPIN + `, {"method"})`,
			wantErr: "missing [method]",
		},
		{
			name:    "an allow that is not a boolean denies",
			rules:   `decision := object.union(` + allowPIN + `, {"allow": "yes"})`,
			wantErr: "decode policy decision",
		},
		{
			name:    "a fractional ttl denies",
			rules:   `decision := object.union(` + allowPIN + `, {"ttl_seconds": 90.5})`,
			wantErr: "decode policy decision",
		},
		{
			name: "conflicting values for the decision deny",
			rules: `decision := ` + allowPIN + ` if input.subject.authid == "alice"
decision := object.union(` + allowPIN + `, {"method": "totp"}) if input.subject.account == "acc-1"`,
			wantErr: "conflict",
		},
		{
			name:    "a failing built-in denies instead of being skipped",
			rules:   `decision := object.union(` + allowPIN + `, {"ttl_seconds": 300 / input.system.ttl_seconds})`,
			wantErr: "divide by zero",
		},
		{
			name:    "a method the system does not enable denies",
			rules:   `decision := object.union(` + allowPIN + `, {"method": "totp"})`,
			change:  func(in *Input) { in.System.Methods = []string{attempt.MethodPIN} },
			wantErr: "method totp is not enabled on system wiki",
		},
		{
			name:    "an unknown method denies even when the system lists it",
			rules:   `decision := object.union(` + allowPIN + `, {"method": "sms"})`,
			change:  func(in *Input) { in.System.Methods = append(in.System.Methods, "sms") },
			wantErr: `unknown method "sms"`,
		},
		{
			name:    "a ttl of zero denies",
			rules:   `decision := object.union(` + allowPIN + `, {"ttl_seconds": 0})`,
			wantErr: "ttl_seconds 0 is not positive",
		},
		{
			name:    "max_attempts below one denies",
			rules:   `decision := object.union(` + allowPIN + `, {"max_attempts": 0})`,
			wantErr: "max_attempts 0 is less than 1",
		},
		{
			name:    "an unknown risk denies",
			rules:   `decision := object.union(` + allowPIN + `, {"risk": "extreme"})`,
			wantErr: `unknown risk "extreme"`,
		},
		{
			name:    "an unknown channel denies",
			rules:   `decision := object.union(` + allowPIN + `, {"channel": "fax"})`,
			wantErr: `unknown channel "fax"`,
		},
		{
			name:    "a channel the user has no address for denies",
			rules:   `decision := object.union(` + allowPIN + `, {"channel": "sms"})`,
			wantErr: "channel sms but the user has no address for it",
		},
		{
			name:    "email chosen while the account has email delivery off denies",
			rules:   `decision := object.union(` + allowPIN + `, {"channel": "email"})`,
			change:  func(in *Input) { in.Subject.HasEmail, in.Account.EmailDelivery = true, new(false) },
			wantErr: "channel email but email delivery is off for the account",
		},
		{
			name:    "a channel for totp denies",
			rules:   `decision := object.union(` + allowPIN + `, {"method": "totp", "channel": "email"})`,
			wantErr: "for totp, which delivers nothing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, policy(tt.rules))
			in := signIn()
			if tt.change != nil {
				tt.change(&in)
			}
			got, err := e.Decide(t.Context(), in)
			assertFailedClosed(t, got, err, tt.wantErr)
		})
	}
}

func assertFailedClosed(t *testing.T, got Decision, err error, wantErr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Decide = %+v, nil error; want an error containing %q", got, wantErr)
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Errorf("error %q does not contain %q", err, wantErr)
	}
	want := Decision{Reasons: []string{"policy error: " + err.Error()}}
	if got.Allow || got.Method != "" || !slices.Equal(got.Reasons, want.Reasons) {
		t.Errorf("Decide = %+v, want %+v", got, want)
	}
}

func TestDecideFailsClosedWhenTheCallerGivesUp(t *testing.T) {
	t.Run("an already cancelled context denies", func(t *testing.T) {
		e := newEngine(t, Default())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		got, err := e.Decide(ctx, signIn())
		assertFailedClosed(t, got, err, "context canceled")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v is not context.Canceled", err)
		}
	})
	t.Run("a deadline passing during a slow policy denies", func(t *testing.T) {
		// About ten million iterations: far longer than the deadline. The
		// range is built once: built again for each a, the ranges would
		// add up to more than MaxBuiltinMemory.
		e := newEngine(t, policy(`decision := `+allowPIN+` if {
	r := numbers.range(1, 3200)
	count([a | some a in r; some b in r; a == 0 - b]) == 0
}`))
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		got, err := e.Decide(ctx, signIn())
		assertFailedClosed(t, got, err, "deadline exceeded")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v is not context.DeadlineExceeded", err)
		}
	})
}

func TestDecideAcceptsWellFormedDenials(t *testing.T) {
	tests := []struct {
		name        string
		rules       string
		wantReasons []string
	}{
		{
			name: "a denial is returned as the policy gave it",
			// A denial needs no usable method: nothing will be sent.
			rules:       `decision := {"allow": false, "method": "", "ttl_seconds": 0, "max_attempts": 0, "reasons": ["no"], "risk": "high"}`,
			wantReasons: []string{"no"},
		},
		{
			name:        "a denial without reasons is given one for the audit log",
			rules:       `decision := {"allow": false, "method": "pin", "ttl_seconds": 300, "max_attempts": 5, "reasons": [], "risk": "low"}`,
			wantReasons: []string{"denied by policy without a reason"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newEngine(t, policy(tt.rules)).Decide(t.Context(), signIn())
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.Allow || !slices.Equal(got.Reasons, tt.wantReasons) {
				t.Errorf("Decide = %+v, want a denial with reasons %q", got, tt.wantReasons)
			}
		})
	}
}

func TestDecideCapsDeliveredTTL(t *testing.T) {
	tests := []struct {
		method  string
		wantTTL int
	}{
		{attempt.MethodPasswordless, MaxDeliveredTTL},
		{attempt.MethodPIN, MaxDeliveredTTL},
		{attempt.MethodTOTP, 3600}, // nothing is delivered, so nothing lingers in an inbox
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			rules := fmt.Sprintf(`decision := object.union(%s, {"method": %q, "ttl_seconds": 3600})`, allowPIN, tt.method)
			got, err := newEngine(t, policy(rules)).Decide(t.Context(), signIn())
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.TTLSeconds != tt.wantTTL {
				t.Errorf("TTLSeconds = %d, want %d", got.TTLSeconds, tt.wantTTL)
			}
			capped := slices.ContainsFunc(got.Reasons, func(r string) bool { return strings.HasPrefix(r, "ttl capped") })
			if capped != (tt.wantTTL == MaxDeliveredTTL) {
				t.Errorf("reasons %q: capped = %v", got.Reasons, capped)
			}
		})
	}
}

// The default policy states two of the engine's numbers in Rego, so that
// its decisions stand as they are: its max_delivered_ttl_seconds is the
// cap Decide applies to every policy (MaxDeliveredTTL), and its
// max_attempts outside high sensitivity is DefaultMaxAttempts. They are
// not passed to the policy as data because stock opa test and opa eval
// must run the policy file alone; this test keeps the copies equal.
func TestDefaultPolicyKeepsTheGoLimits(t *testing.T) {
	e := newEngine(t, Default())
	for _, method := range []string{attempt.MethodPasswordless, attempt.MethodPIN, attempt.MethodSSO} {
		t.Run("ttl cap of "+method, func(t *testing.T) {
			in := signIn()
			in.Subject.Assigned = method
			in.System.Methods = append(in.System.Methods, attempt.MethodSSO)
			// One second above the cap: a policy whose own cap is
			// higher than the engine's would answer more, and Decide
			// would cap it and say so.
			in.System.TTLSeconds = MaxDeliveredTTL + 1
			got, err := e.Decide(t.Context(), in)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if !got.Allow || got.Method != method {
				t.Fatalf("Decide = %+v, want %s allowed", got, method)
			}
			if got.TTLSeconds != MaxDeliveredTTL {
				t.Errorf("TTLSeconds = %d, want the engine's cap %d", got.TTLSeconds, MaxDeliveredTTL)
			}
			if i := slices.IndexFunc(got.Reasons, func(r string) bool { return strings.HasPrefix(r, "ttl capped") }); i >= 0 {
				t.Errorf("the engine capped the policy's TTL (%q): risk.rego's max_delivered_ttl_seconds is above MaxDeliveredTTL", got.Reasons[i])
			}
		})
	}
	for _, sensitivity := range []string{"low", "medium", ""} {
		t.Run("max attempts at sensitivity "+strconv.Quote(sensitivity), func(t *testing.T) {
			in := signIn()
			in.System.Sensitivity = sensitivity
			got, err := e.Decide(t.Context(), in)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.MaxAttempts != DefaultMaxAttempts {
				t.Errorf("MaxAttempts = %d, want DefaultMaxAttempts %d", got.MaxAttempts, DefaultMaxAttempts)
			}
		})
	}
}

func TestNewRejectsUnusablePolicies(t *testing.T) {
	tests := []struct {
		name    string
		modules map[string]string
		wantErr string
	}{
		{
			name:    "a syntax error names its line",
			modules: policy("decision := {\n\n  \"allow\": true,,\n}"),
			wantErr: "policy.rego:5",
		},
		{
			name:    "a compile error names its line",
			modules: policy("decision := x"),
			wantErr: "policy.rego:3",
		},
		{
			name:    "a policy without a decision rule",
			modules: map[string]string{"other.rego": "package flexauth.other\n\ndecision := true"},
			wantErr: "no rule defines data.flexauth.risk.decision",
		},
		{
			name:    "no modules at all",
			modules: map[string]string{},
			wantErr: "no rule defines data.flexauth.risk.decision",
		},
		{
			name:    "a policy may not reach the network",
			modules: policy(`decision := http.send({"method": "get", "url": "http://169.254.169.254/"}).body`),
			wantErr: "undefined function http.send",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(t.Context(), tt.modules)
			if err == nil {
				t.Fatalf("New = %v, nil error; want an error containing %q", e, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecideIsSafeForConcurrentUse(t *testing.T) {
	e := newEngine(t, Default())
	// This test is about sharing one engine; on a machine starved of CPU,
	// 32 goroutines deciding at once can take longer than the wall-clock
	// bound, which would then deny (as it should) and fail the test.
	e.timeout = time.Minute
	inputs := make([]Input, 8)
	want := make([]Decision, len(inputs))
	for i := range inputs {
		in := signIn()
		in.History.RecentFailures = i % 6
		in.History.NewIP = i%2 == 0
		in.Subject.TOTPEnrolled = i%3 == 0
		in.System.Sensitivity = []string{"low", "medium", "high"}[i%3]
		inputs[i] = in
		d, err := e.Decide(t.Context(), in)
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		want[i] = d
	}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for j := range 20 {
				i := (g + j) % len(inputs)
				got, err := e.Decide(t.Context(), inputs[i])
				if err != nil {
					t.Errorf("Decide: %v", err)
					return
				}
				if got.Allow != want[i].Allow || got.Method != want[i].Method || !slices.Equal(got.Reasons, want[i].Reasons) {
					t.Errorf("Decide(input %d) = %+v, want %+v", i, got, want[i])
				}
			}
		})
	}
	wg.Wait()
}

func TestDefaultSeparatesModulesFromTests(t *testing.T) {
	modules, tests := Default(), DefaultTests()
	if _, ok := modules["risk.rego"]; !ok || len(modules) != 1 {
		t.Errorf("Default() files = %v, want only risk.rego", slices.Sorted(maps.Keys(modules)))
	}
	if _, ok := tests["risk_test.rego"]; !ok || len(tests) != 1 {
		t.Errorf("DefaultTests() files = %v, want only risk_test.rego", slices.Sorted(maps.Keys(tests)))
	}
	modules["risk.rego"] = "changed"
	if Default()["risk.rego"] == "changed" {
		t.Error("a change to one Default() map shows in the next")
	}
}

func BenchmarkDecide(b *testing.B) {
	e := newEngine(b, Default())
	in := signIn()
	in.System.Sensitivity = "high"
	in.Subject.TOTPEnrolled = true
	in.History.NewIP = true
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decide(b.Context(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestUnavailablePolicyDenies(t *testing.T) {
	_, loadErr := New(context.Background(), map[string]string{"broken.rego": "package flexauth.risk\n\ndecision := {"})
	if loadErr == nil {
		t.Fatal("a broken module compiled")
	}
	d, err := Unavailable{Err: loadErr}.Decide(context.Background(), Input{})
	if err == nil || d.Allow || len(d.Reasons) != 1 || !strings.HasPrefix(d.Reasons[0], "policy error: ") {
		t.Fatalf("decision = %+v, err = %v; want a denial naming the policy error", d, err)
	}
}

// loopingRules iterate ten billion times, for a caller that would wait for
// ever, in little memory (the range is built once).
const loopingRules = `decision := ` + allowPIN + ` if {
	r := numbers.range(1, 100000)
	count([a | some a in r; some b in r; a == 0 - b]) == 0
}`

// hoardingRules build a new array of 256 members at each of ten billion
// iterations: no built-in call builds much, but the arrays add up.
var hoardingRules = `decision := ` + allowPIN + ` if {
	r := numbers.range(1, 100000)
	count([[` + strings.TrimSuffix(strings.Repeat("i, ", 256), ", ") + `] | some i in r; some j in r]) == 0
}`

// A policy that allocates without a built-in doing so is stopped at the
// memory bound, long before its steps or its time run out.
func TestDecideStopsAPolicyThatHoardsMemory(t *testing.T) {
	e := newEngine(t, policy(hoardingRules))
	e.steps, e.timeout = 1<<62, time.Minute
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	got, err := e.Decide(context.WithoutCancel(t.Context()), signIn())
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	assertFailedClosed(t, got, err, "evaluate policy: "+ErrEvaluationMemory.Error())
	if !errors.Is(err, ErrEvaluationMemory) {
		t.Fatalf("error %v is not %v", err, ErrEvaluationMemory)
	}
	// The bound, the steps between two checks, and what came before the
	// first check.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*EvaluationMemory {
		t.Errorf("the decision allocated %d MiB before it was stopped, bound %d MiB", alloc>>20, EvaluationMemory>>20)
	}
	t.Logf("stopped after %s", took)
}

func TestDecideStopsARunawayPolicy(t *testing.T) {
	tests := []struct {
		name    string
		steps   int64
		timeout time.Duration
		want    error
	}{
		{"a policy that loops is stopped after its evaluation steps", 20_000, time.Minute, ErrEvaluationSteps},
		{"a policy that loops is stopped at the evaluation timeout", 1 << 62, 300 * time.Millisecond, ErrEvaluationTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, policy(loopingRules))
			e.steps, e.timeout = tt.steps, tt.timeout
			start := time.Now()
			got, err := e.Decide(context.WithoutCancel(t.Context()), signIn())
			took := time.Since(start)
			assertFailedClosed(t, got, err, "evaluate policy: "+tt.want.Error())
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			if took > 20*time.Second {
				t.Errorf("denied after %s", took)
			}
		})
	}
	t.Run("the bounds are the package's", func(t *testing.T) {
		e := newEngine(t, Default())
		if e.steps != EvaluationSteps || e.timeout != EvaluationTimeout || e.memory != EvaluationMemory {
			t.Fatalf("steps %d, timeout %s, memory %d; want %d, %s and %d", e.steps, e.timeout, e.memory, EvaluationSteps, EvaluationTimeout, EvaluationMemory)
		}
	})
}

// A policy uploaded before email_login was renamed email_delivery reads the
// old name and still gets the account's setting; the engine's own check
// reads either.
func TestPoliciesWrittenBeforeTheRenameReadEmailLogin(t *testing.T) {
	old := newEngine(t, policy(`decision := object.union(`+allowPIN+`, {"channel": "sms", "reasons": ["no email"]}) if input.account.email_login == false
decision := object.union(`+allowPIN+`, {"channel": "email"}) if input.account.email_login == true`))
	for _, on := range []bool{true, false} {
		in := signIn()
		in.Subject.HasPhone = true
		in.Account = AccountOf("acc-1", on)
		got, err := old.Decide(t.Context(), in)
		if err != nil {
			t.Fatalf("email delivery %v: %v", on, err)
		}
		if want := map[bool]string{true: "email", false: "sms"}[on]; got.Channel != want {
			t.Errorf("email delivery %v: channel %q, want %q", on, got.Channel, want)
		}
	}
	in := signIn()
	in.Account = Account{ID: "acc-1", EmailLogin: new(false)}
	if !in.Account.EmailDeliveryDisabled() {
		t.Error("an input with only email_login false does not turn email delivery off")
	}
}
