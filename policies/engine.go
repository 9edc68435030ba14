package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/metrics"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/flexauth/flexauth/attempt"
)

// decisionQuery is the document every policy must define.
const decisionQuery = "data.flexauth.risk.decision"

var errUndefined = errors.New("policy decision is undefined")

// The bounds on one decision, whatever the caller allows: a policy that
// needs more is broken (the built-in one decides in about 150 steps and a
// millisecond), and a sign-in must not wait on it.
//
// EvaluationSteps bounds the work: OPA asks whether to stop before every
// expression it evaluates and inside its costlier built-ins (generating a
// range, building a string), and each ask counts as a step, so the bound
// holds however loaded the machine is. EvaluationTimeout bounds the
// wall-clock time, for work between two asks; it stays under the 10s the
// attempt workflow gives Begin, so that a slow policy denies with its
// reason rather than failing Begin.
//
// EvaluationMemory bounds what a decision allocates. Built-ins that could
// build large values are bounded one by one (builtins.go), but a policy can
// build large values one step at a time too (a comprehension of new
// arrays reached a gigabyte within the steps and the time), and a stored
// policy runs inside the shared API and worker processes. Go cannot count
// one goroutine's allocations, so the heap's allocations since the check
// began are read, every memoryCheckSteps steps, once a decision has taken
// that many (the built-in policy takes about 150, so ordinary decisions are
// never measured): they include what the rest of the process allocated
// meanwhile, which for a decision of a few milliseconds is little, and a
// decision long enough to see much of it is near its other bounds anyway.
const (
	EvaluationSteps   = 1_000_000
	EvaluationTimeout = 8 * time.Second
	EvaluationMemory  = 256 << 20
	memoryCheckSteps  = 4096
)

// The errors of a decision stopped at a bound; the decision denies.
var (
	ErrEvaluationSteps   = fmt.Errorf("the policy took more than %d evaluation steps to decide", EvaluationSteps)
	ErrEvaluationTimeout = fmt.Errorf("the policy took longer than %s to decide", EvaluationTimeout)
	ErrEvaluationMemory  = fmt.Errorf("the policy allocated more than %d MiB to decide", EvaluationMemory>>20)
)

// Engine evaluates one compiled policy. It is safe for concurrent use: the
// query is prepared once in New and shared by every call to Decide.
type Engine struct {
	query rego.PreparedEvalQuery
	// The bounds of one decision: EvaluationSteps, EvaluationTimeout and
	// EvaluationMemory (tests lower them).
	steps   int64
	timeout time.Duration
	memory  uint64
}

// New compiles the modules and prepares the query data.flexauth.risk.decision.
// Modules are Rego v1; a module that does not compile, or a policy that does
// not define the decision, is an error whose message names file:line.
func New(ctx context.Context, modules map[string]string) (*Engine, error) {
	parsed, err := parse(modules)
	if err != nil {
		return nil, err
	}
	compiler := newCompiler()
	if compiler.Compile(parsed); compiler.Failed() {
		return nil, fmt.Errorf("compile policy: %w", compiler.Errors)
	}
	if len(compiler.GetRulesForVirtualDocument(ast.MustParseRef(decisionQuery))) == 0 {
		return nil, fmt.Errorf("compile policy: no rule defines %s", decisionQuery)
	}
	opts := append(guardFunctions(),
		rego.Compiler(compiler),
		rego.Query(decisionQuery),
		// A failing built-in (a division by zero, a bad time format) is a
		// policy error to report, not a reason to quietly skip a rule.
		rego.StrictBuiltinErrors(true),
		rego.GenerateJSON(decisionJSON),
	)
	query, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare policy query: %w", err)
	}
	return &Engine{query: query, steps: EvaluationSteps, timeout: EvaluationTimeout, memory: EvaluationMemory}, nil
}

// Decide evaluates the policy for one login attempt, for at most
// EvaluationSteps and EvaluationTimeout.
//
// It fails closed: on any error (a cancelled context, an evaluation stopped
// at a bound (ErrEvaluationSteps, ErrEvaluationTimeout), an evaluation
// error, an undefined result, a wrong shape, or an allowing decision with unusable
// values: a method that is unknown or not enabled on the system,
// ttl_seconds <= 0, max_attempts < 1, a risk other than low, medium or high)
// it returns a denying Decision whose only reason starts with
// "policy error: ", together with the error. A well-formed denial is not an
// error; one without reasons gets a generic reason for the audit log.
//
// On success the decision is normalised: the TTL of a delivered secret
// (passwordless, pin) is capped at MaxDeliveredTTL.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	d, err := e.decide(ctx, in)
	if err != nil {
		return Decision{Allow: false, Reasons: []string{"policy error: " + err.Error()}}, err
	}
	return d, nil
}

func (e *Engine) decide(ctx context.Context, in Input) (Decision, error) {
	// Evaluation notices cancellation only now and then; a short policy
	// would otherwise finish and allow on behalf of a caller that gave up.
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("evaluate policy: %w", err)
	}
	if in.System.Methods == nil {
		in.System.Methods = []string{} // a list, never null, for `in` tests
	}
	evalCtx, cancel := context.WithTimeoutCause(ctx, e.timeout, ErrEvaluationTimeout)
	defer cancel()
	b := newBudget(e.steps, e.memory)
	stop := context.AfterFunc(evalCtx, b.Cancel)
	defer stop()
	m := &meter{}
	rs, err := e.query.Eval(withMeter(evalCtx, m), rego.EvalInput(in), rego.EvalExternalCancel(b))
	if err != nil {
		switch {
		case m.err != nil:
			// A built-in call stopped at a bound (ErrBuiltinBound).
			return Decision{}, fmt.Errorf("evaluate policy: %w", m.err)
		case b.exhausted.Load():
			return Decision{}, fmt.Errorf("evaluate policy: %w", ErrEvaluationSteps)
		case b.exceeded.Load():
			return Decision{}, fmt.Errorf("evaluate policy: %w", ErrEvaluationMemory)
		case ctx.Err() != nil:
			// Keep the context's error visible to errors.Is; the
			// evaluator reports cancellation in its own type.
			return Decision{}, fmt.Errorf("evaluate policy: %w (%w)", ctx.Err(), err)
		case errors.Is(context.Cause(evalCtx), ErrEvaluationTimeout):
			return Decision{}, fmt.Errorf("evaluate policy: %w", ErrEvaluationTimeout)
		}
		return Decision{}, fmt.Errorf("evaluate policy: %w", readableError(err))
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, errUndefined
	}
	d, err := decode(rs[0].Expressions[0].Value)
	if err != nil {
		return Decision{}, err
	}
	if !d.Allow {
		return d, nil
	}
	if err := validate(d, in); err != nil {
		return Decision{}, err
	}
	if attempt.Delivered(d.Method) && d.TTLSeconds > MaxDeliveredTTL {
		d.Reasons = append(d.Reasons, fmt.Sprintf("ttl capped at %ds for a delivered secret", MaxDeliveredTTL))
		d.TTLSeconds = MaxDeliveredTTL
	}
	return d, nil
}

// budget is one evaluation's cancellation (topdown.Cancel): cancelled
// when its context ends, or after its steps are spent. Every time the
// evaluator asks whether to stop is one step.
type budget struct {
	left      atomic.Int64
	cancelled atomic.Bool
	exhausted atomic.Bool
	// The memory bound (EvaluationMemory), checked every memoryCheckSteps
	// steps; only the evaluating goroutine touches these.
	memory   uint64
	taken    int64
	allocs   []metrics.Sample
	baseline uint64
	exceeded atomic.Bool
}

var _ topdown.Cancel = (*budget)(nil)

func newBudget(steps int64, memory uint64) *budget {
	b := &budget{memory: memory}
	b.left.Store(steps)
	return b
}

func (b *budget) Cancel() { b.cancelled.Store(true) }

func (b *budget) Cancelled() bool {
	if b.cancelled.Load() {
		return true
	}
	if b.left.Add(-1) < 0 {
		b.exhausted.Store(true)
		return true
	}
	if b.taken++; b.taken%memoryCheckSteps == 0 && b.overMemory() {
		b.exceeded.Store(true)
		return true
	}
	return false
}

// overMemory says whether the heap allocated more than the bound since the
// first check.
func (b *budget) overMemory() bool {
	if b.allocs == nil {
		b.allocs = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		metrics.Read(b.allocs)
		b.baseline = b.allocs[0].Value.Uint64()
		return false
	}
	metrics.Read(b.allocs)
	return b.allocs[0].Value.Uint64()-b.baseline > b.memory
}

// wireDecision mirrors Decision with pointers, so that a missing field can be
// told apart from its zero value.
type wireDecision struct {
	Allow       *bool    `json:"allow"`
	Method      *string  `json:"method"`
	TTLSeconds  *int     `json:"ttl_seconds"`
	MaxAttempts *int     `json:"max_attempts"`
	Reasons     []string `json:"reasons"`
	Risk        *string  `json:"risk"`
	Channel     string   `json:"channel"` // optional
}

// decode turns the policy's result into a Decision, requiring every field
// but reasons to be present with the right type.
func decode(v any) (Decision, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return Decision{}, fmt.Errorf("decode policy decision: %w", err)
	}
	var w wireDecision
	if err := json.Unmarshal(raw, &w); err != nil {
		return Decision{}, fmt.Errorf("decode policy decision: %w", err)
	}
	var missing []string
	if w.Allow == nil {
		missing = append(missing, "allow")
	}
	if w.Method == nil {
		missing = append(missing, "method")
	}
	if w.TTLSeconds == nil {
		missing = append(missing, "ttl_seconds")
	}
	if w.MaxAttempts == nil {
		missing = append(missing, "max_attempts")
	}
	if w.Risk == nil {
		missing = append(missing, "risk")
	}
	if len(missing) > 0 {
		return Decision{}, fmt.Errorf("decode policy decision: missing %v", missing)
	}
	d := Decision{
		Allow:       *w.Allow,
		Method:      *w.Method,
		TTLSeconds:  *w.TTLSeconds,
		MaxAttempts: *w.MaxAttempts,
		Reasons:     w.Reasons,
		Risk:        *w.Risk,
		Channel:     w.Channel,
	}
	if !d.Allow && len(d.Reasons) == 0 {
		// The audit log must always say why an attempt was refused.
		d.Reasons = []string{"denied by policy without a reason"}
	}
	return d, nil
}

// validate checks that an allowing decision can be acted on. A denial needs
// no such check: nothing will be sent or verified.
func validate(d Decision, in Input) error {
	sys := in.System
	switch d.Method {
	case attempt.MethodPasswordless, attempt.MethodPIN, attempt.MethodTOTP, attempt.MethodSSO, attempt.MethodPassword:
	default:
		return fmt.Errorf("invalid policy decision: unknown method %q", d.Method)
	}
	if !slices.Contains(sys.Methods, d.Method) {
		return fmt.Errorf("invalid policy decision: method %s is not enabled on system %s", d.Method, sys.Name)
	}
	if d.TTLSeconds <= 0 {
		return fmt.Errorf("invalid policy decision: ttl_seconds %d is not positive", d.TTLSeconds)
	}
	if d.MaxAttempts < 1 {
		return fmt.Errorf("invalid policy decision: max_attempts %d is less than 1", d.MaxAttempts)
	}
	switch d.Risk {
	case "low", "medium", "high":
	default:
		return fmt.Errorf("invalid policy decision: unknown risk %q", d.Risk)
	}
	switch {
	case d.Channel == "":
	case d.Method == attempt.MethodTOTP || d.Method == attempt.MethodPassword:
		return fmt.Errorf("invalid policy decision: channel %q for %s, which delivers nothing", d.Channel, d.Method)
	case d.Channel == "email" && in.Account.EmailDeliveryDisabled():
		return errors.New("invalid policy decision: channel email but email delivery is off for the account")
	case d.Channel == "email" && !in.Subject.HasEmail, d.Channel == "sms" && !in.Subject.HasPhone:
		return fmt.Errorf("invalid policy decision: channel %s but the user has no address for it", d.Channel)
	case d.Channel != "email" && d.Channel != "sms":
		return fmt.Errorf("invalid policy decision: unknown channel %q", d.Channel)
	}
	return nil
}

// parse reads Rego v1 modules in a stable order, so that errors come out the
// same way every time.
func parse(modules map[string]string) (map[string]*ast.Module, error) {
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	parsed := make(map[string]*ast.Module, len(modules))
	for _, name := range names {
		m, err := ast.ParseModuleWithOpts(name, modules[name], ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("parse policy: %w", err)
		}
		parsed[name] = m
	}
	return parsed, nil
}

// newCompiler returns a compiler for policies that may come from account
// administrators: it knows only the built-ins of policyBuiltins, and
// points the calls of those that can build large values at their guarded
// stand-ins (see builtins.go), whose implementations every query on its
// modules must be given (guardFunctions).
func newCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(policyCapabilities()).
		WithDefaultRegoVersion(ast.RegoV1).
		// After type checking, so that errors name the built-ins the
		// policy calls.
		WithStageAfterID(ast.StageCheckDeprecatedBuiltins, guardStage())
}
