package policies

import (
	"context"
	"errors"
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Policies may come from account administrators and are evaluated in the
// shared API and worker processes. What a policy can do there is decided
// here, in two parts:
//
//   - An allow-list (policyBuiltins): the only built-ins a policy may call.
//     Everything that reads files (json.verify_schema and json.match_schema
//     open file:// schema references), reaches the network (http.send,
//     net.lookup_ip_addr, io.jwt.decode_verify with remote keys), reads the
//     process (opa.runtime), is random (rand.intn, uuid.rfc4122) or expands
//     a small argument into a huge value (net.cidr_expand, bits.lsh, units.*,
//     strings.render_template, walk, json.patch) is left out, so that a
//     policy calling it does not compile ("undefined function").
//   - Bounds on what the allowed built-ins build. Steps and time
//     (EvaluationSteps, EvaluationTimeout) are checked between calls, but a
//     single call can allocate gigabytes (numbers.range(1, 1e9),
//     sprintf("%09999999d%09999999d...", ...), a concat doubling a string
//     thirty times), and no cancellation stops it. So every built-in that
//     can build a value in proportion to something other than a small,
//     fixed size is called through a guard that checks, before the stock
//     implementation runs, what the call would build, and checks the value
//     it built afterwards.
//
// The guards cannot have the stock names: OPA's evaluator always runs its
// own implementation of a name it knows (topdown's eval.builtinFunc looks in
// its global registry before the query's custom built-ins). So the compiler
// renames each call of a guarded built-in, after type checking (so that
// errors still name the built-in the author wrote), to a custom built-in
// under guardPrefix with the stock declaration, which the engine and the
// test runner provide (guardFunctions). Error messages are given back
// their stock names (readableError).

// Bounds on what built-ins build, per call and per evaluation. A risk policy
// builds a few short strings and small collections (the built-in one a few
// hundred bytes in all); these are far above that and far below what could
// hurt a process that runs many decisions at once.
const (
	// MaxBuiltinString is the longest string, in bytes, one built-in call
	// may return.
	MaxBuiltinString = 1 << 20
	// MaxBuiltinCollection is the most members an array, set or object
	// returned by one built-in call may have (numbers.range(1, 100000)
	// just fits).
	MaxBuiltinCollection = 100_000
	// MaxBuiltinMemory bounds, in estimated bytes, everything the
	// built-in calls of one evaluation return, together: many calls that
	// each stay under the bounds above (a comprehension collecting 1 MiB
	// strings) must not add up to gigabytes either. It also bounds the
	// arguments one call may walk.
	MaxBuiltinMemory = 16 << 20
	// maxPattern bounds a regular expression or glob pattern, in bytes:
	// OPA compiles and caches them (100 of each, process-wide).
	maxPattern = 1 << 10
	// maxRegexpSize bounds a regular expression's compiled size, roughly
	// in instructions: a short pattern with a counted repetition
	// ((0123456789abcdef){1000}) compiles to tens of thousands, and Go
	// allows up to about three million.
	maxRegexpSize = 10_000
	// maxNumberLength and maxNumberExponent bound every number a policy
	// writes or a built-in returns. OPA converts numbers to exact integers
	// and rationals to compare and compute (big.Int, big.Rat), so
	// 1e1000000000 is a gigabyte, and squaring a number a few dozen times
	// is more; a risk policy counts seconds and attempts.
	maxNumberLength   = 100
	maxNumberExponent = 330
	// maxResult bounds the decision a policy returns, in estimated bytes
	// of JSON: a decision built from arrays nested in each other without a
	// built-in ([a, a] doubled sixty times) is small to hold but not to
	// convert.
	maxResult = 1 << 20
	// smallResult is the estimated size of a result that does not count
	// towards MaxBuiltinMemory: a number, a short string, a small array.
	// A call builds no more than an evaluation step does anyway, and the
	// step budget bounds those; counting them would stop a policy that
	// does arithmetic in a loop.
	smallResult = 128
)

// ErrBuiltinBound is what a decision stopped at a built-in bound wraps: a
// call that would build more than MaxBuiltinString, MaxBuiltinCollection or
// MaxBuiltinMemory, or a number or pattern out of bounds.
var ErrBuiltinBound = errors.New("the policy went over a bound on what built-ins may build")

// guardPrefix names the guarded stand-ins of stock built-ins: concat is
// called as flexauth_bounded.concat. A policy never sees the name (errors
// are rewritten, see readableError); one that calls it directly gets the
// same guard.
const guardPrefix = "flexauth_bounded."

// pre checks a call's arguments before the stock built-in runs; it returns
// a description of what the call would exceed, or "" when the call may go
// ahead (or should fail in the stock built-in with its own type error).
type pre func(args []*ast.Term) string

// policyBuiltin is an allowed built-in: plain ones run as they are, because
// they return a boolean or a small, fixed-size value; guarded ones run
// through guardFunc, with pre (if any) before.
type policyBuiltin struct {
	guarded bool
	pre     pre
}

// policyBuiltins is the allow-list: every built-in a policy may call. It is
// a function, built on each call, so that nothing can change the list a
// later compile uses.
func policyBuiltins() map[string]policyBuiltin {
	plain := policyBuiltin{}
	guarded := policyBuiltin{guarded: true}
	with := func(p pre) policyBuiltin { return policyBuiltin{guarded: true, pre: p} }
	return map[string]policyBuiltin{
		// Unification, comparison and membership: booleans.
		"eq": plain, "assign": plain, "equal": plain, "neq": plain,
		"lt": plain, "lte": plain, "gt": plain, "gte": plain,
		"internal.member_2": plain, "internal.member_3": plain,
		// print is erased when compiled (print statements are off), and
		// the test runner needs internal.test_case for parameterised tests.
		"print": plain, "internal.print": plain, "internal.test_case": plain,

		// Numbers: every result is checked (saneNumber), so that no
		// operation can feed a bigger number to the next.
		"plus": guarded, "minus": guarded, "mul": guarded, "div": guarded, "rem": guarded,
		"abs": guarded, "round": guarded, "ceil": guarded, "floor": guarded,
		"numbers.range":      with(preRange),
		"numbers.range_step": with(preRangeStep),
		"format_int":         guarded,
		"to_number":          guarded,

		// Aggregates.
		"count": plain, "sum": guarded, "max": guarded, "min": guarded, "sort": guarded,

		// Types.
		"is_array": plain, "is_boolean": plain, "is_null": plain, "is_number": plain,
		"is_object": plain, "is_set": plain, "is_string": plain, "type_name": plain,

		// Strings.
		"contains": plain, "startswith": plain, "endswith": plain,
		"indexof": plain, "strings.count": plain,
		"lower": guarded, "upper": guarded, "substring": guarded, "strings.reverse": guarded,
		"trim": guarded, "trim_left": guarded, "trim_right": guarded,
		"trim_prefix": guarded, "trim_suffix": guarded, "trim_space": guarded,
		// These build in proportion to something else than the size of
		// their arguments (a width, a count of matches, a pattern), or copy
		// values that may share their parts, so they are checked first.
		"concat":                   with(preConcat),
		"sprintf":                  with(preSprintf),
		"internal.template_string": with(preTemplateString), // $"..."
		"replace":                  with(preReplace),
		"strings.replace_n":        with(preReplaceN),
		"split":                    with(preSplit),
		"regex.match":              with(preRegex),
		"glob.match":               with(preGlob),
		"json.marshal":             with(preMarshal),

		// Arrays, sets and objects.
		"array.concat": with(preArrayConcat), "array.slice": guarded, "array.reverse": guarded,
		"and": guarded, "or": with(preSetUnion), "union": with(preUnion), "intersection": guarded,
		"object.get": plain, "object.keys": guarded, "object.remove": guarded,
		"object.filter": guarded, "object.union": guarded, "object.union_n": guarded,
		"object.subset": guarded,

		// Time: numbers and small arrays (nanoseconds fit an int64).
		"time.now_ns": plain, "time.parse_ns": plain, "time.parse_rfc3339_ns": plain,
		"time.parse_duration_ns": plain, "time.date": plain, "time.clock": plain,
		"time.weekday": plain, "time.add_date": plain, "time.diff": plain,
		"time.format": guarded,

		// Addresses: pure computations on the arguments, no lookups.
		"net.cidr_contains": plain, "net.cidr_intersects": plain, "net.cidr_is_valid": plain,
		"net.cidr_contains_matches": with(preCIDRMatches), "net.cidr_merge": guarded,

		// Hashes (e.g. to put users into buckets) and versions: short strings.
		"crypto.md5": plain, "crypto.sha1": plain, "crypto.sha256": plain,
		"crypto.hmac.md5": plain, "crypto.hmac.sha1": plain, "crypto.hmac.sha256": plain,
		"crypto.hmac.sha512": plain, "crypto.hmac.equal": plain,
		"semver.compare": plain, "semver.is_valid": plain,
	}
}

// policyCapabilities are OPA's capabilities cut down to policyBuiltins, plus
// the guarded stand-ins, with no network access (no remote schemas either).
func policyCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	allowed := policyBuiltins()
	kept := make([]*ast.Builtin, 0, len(allowed))
	for _, b := range caps.Builtins {
		if _, ok := allowed[b.Name]; ok {
			kept = append(kept, b)
		}
	}
	caps.Builtins = append(kept, guardDecls()...)
	caps.AllowNet = []string{}
	return caps
}

// guardDecls declares the guarded stand-ins with the stock signatures. The
// compiler needs them in its type environment: a `with` may replace a
// function by a guarded built-in, and the evaluator then asks the type
// environment whether the replacement is a function.
func guardDecls() []*ast.Builtin {
	var decls []*ast.Builtin
	for _, g := range guards() {
		decls = append(decls, g.decl)
	}
	return decls
}

// guard is a guarded stand-in: its declaration, and its implementation as
// a rego option (the engine and the test runner add it to every query).
type guard struct {
	decl *ast.Builtin
	fn   func(*rego.Rego)
}

func guards() []guard {
	var gs []guard
	for name, b := range policyBuiltins() {
		if !b.guarded {
			continue
		}
		stock, impl := ast.BuiltinMap[name], topdown.GetBuiltin(name)
		if stock == nil || impl == nil {
			continue // TestAllowListNamesOPABuiltins catches this
		}
		decl := &ast.Builtin{Name: guardPrefix + name, Decl: stock.Decl}
		fn := rego.FunctionDyn(&rego.Function{Name: decl.Name, Decl: stock.Decl}, guardFunc(name, b.pre, impl))
		gs = append(gs, guard{decl: decl, fn: fn})
	}
	return gs
}

// guardFunctions are the implementations of the guarded stand-ins, as rego
// options.
func guardFunctions() []func(*rego.Rego) {
	var fns []func(*rego.Rego)
	for _, g := range guards() {
		fns = append(fns, g.fn)
	}
	return fns
}

// guardStage is the compiler stage, run after type checking, that points
// every call of a guarded built-in (and every `with` naming one) at its
// stand-in, and refuses number literals out of bounds.
func guardStage() ast.CompilerStageDefinition {
	return ast.CompilerStageDefinition{
		Name:       "FlexauthGuardBuiltins",
		MetricName: "compile_stage_flexauth_guard_builtins",
		Stage:      guardModules,
	}
}

func guardModules(c *ast.Compiler) *ast.Error {
	allowed := policyBuiltins()
	rename := func(t *ast.Term) *ast.Term {
		ref, ok := t.Value.(ast.Ref)
		if !ok || len(ref) == 0 {
			return t
		}
		if _, isVar := ref[0].Value.(ast.Var); !isVar {
			return t
		}
		name := ref.String()
		if b, ok := allowed[name]; !ok || !b.guarded {
			return t
		}
		// A new term rather than a changed one: the compiler may share
		// operator terms between expressions.
		return &ast.Term{Value: (&ast.Builtin{Name: guardPrefix + name}).Ref(), Location: t.Location}
	}
	var bad *ast.Error
	for _, m := range c.Modules {
		ast.NewGenericVisitor(func(x any) bool {
			if bad != nil {
				return true
			}
			switch x := x.(type) {
			case *ast.Expr:
				if terms, ok := x.Terms.([]*ast.Term); ok && x.IsCall() {
					terms[0] = rename(terms[0])
				}
			case ast.Call:
				if len(x) > 0 {
					x[0] = rename(x[0])
				}
			case *ast.With:
				x.Target, x.Value = rename(x.Target), rename(x.Value)
			case *ast.Term:
				if n, ok := x.Value.(ast.Number); ok {
					if msg := saneNumber(n); msg != "" {
						bad = ast.NewError(ast.CompileErr, x.Location, "%s", msg)
					}
				}
			}
			return false
		}).Walk(m)
		if bad != nil {
			return bad
		}
	}
	return nil
}

// saneNumber describes what is wrong with a number out of bounds, or
// returns "".
func saneNumber(n ast.Number) string {
	s := string(n)
	if len(s) > maxNumberLength {
		return fmt.Sprintf("number %.20s... has more than %d characters: %v", s, maxNumberLength, ErrBuiltinBound)
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || exp > maxNumberExponent || exp < -maxNumberExponent {
			return fmt.Sprintf("number %s has an exponent beyond ±%d: %v", s, maxNumberExponent, ErrBuiltinBound)
		}
	}
	return ""
}

// boundError is a built-in call stopped at a bound.
type boundError struct {
	builtin string
	loc     *ast.Location
	what    string
}

func (e *boundError) Error() string {
	at := ""
	if e.loc != nil {
		at = fmt.Sprintf(" at %s:%d", e.loc.File, e.loc.Row)
	}
	return fmt.Sprintf("%s%s: %s: %v", e.builtin, at, e.what, ErrBuiltinBound)
}

func (e *boundError) Unwrap() error { return ErrBuiltinBound }

// meter is one evaluation's account of what its built-in calls built. An
// evaluation runs on one goroutine, so it needs no lock.
type meter struct {
	spent int64
	err   error // the first bound hit; the evaluation halts there
}

type meterKey struct{}

// withMeter returns ctx carrying m, for an evaluation whose caller wants to
// know whether a bound stopped it (Engine.decide). Other evaluations (the
// test runner's) get a meter of their own from the built-in cache, which
// lives as long as one evaluation.
func withMeter(ctx context.Context, m *meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func meterOf(bctx topdown.BuiltinContext) *meter {
	if bctx.Context != nil {
		if m, ok := bctx.Context.Value(meterKey{}).(*meter); ok {
			return m
		}
	}
	if bctx.Cache == nil {
		return &meter{} // never so in topdown; then each call is bounded alone
	}
	if m, ok := bctx.Cache.Get(meterKey{}); ok {
		return m.(*meter)
	}
	m := &meter{}
	bctx.Cache.Put(meterKey{}, m)
	return m
}

// guardFunc wraps a stock built-in: the arguments may not be larger than
// MaxBuiltinMemory (walking them stops there), pre must pass, and the
// result must keep to the bounds and fit in what is left of the
// evaluation's MaxBuiltinMemory. A bound hit halts the evaluation, also
// where a failing built-in would otherwise just be undefined (under `not`,
// or without strict built-in errors), so that it always fails closed.
func guardFunc(name string, check pre, impl topdown.BuiltinFunc) rego.BuiltinDyn {
	return func(bctx rego.BuiltinContext, args []*ast.Term) (*ast.Term, error) {
		m := meterOf(bctx)
		stop := func(what string) (*ast.Term, error) {
			err := &boundError{builtin: name, loc: bctx.Location, what: what}
			if m.err == nil {
				m.err = err
			}
			return nil, rego.NewHaltError(err)
		}
		if m.err != nil {
			return nil, rego.NewHaltError(m.err)
		}
		var argSize int64
		for _, a := range args {
			argSize += estimate(a.Value, MaxBuiltinMemory-argSize)
			if argSize > MaxBuiltinMemory {
				return stop(fmt.Sprintf("its arguments are larger than %d bytes", MaxBuiltinMemory))
			}
		}
		if check != nil {
			if what := check(args); what != "" {
				return stop(what)
			}
		}
		var out *ast.Term
		err := impl(bctx, args, func(t *ast.Term) error { out = t; return nil })
		if err != nil {
			return nil, stockError(err)
		}
		if out == nil {
			return nil, nil
		}
		c := checker{left: max(MaxBuiltinMemory-m.spent, smallResult)}
		if !c.check(out.Value) {
			if c.what == "" {
				c.what = fmt.Sprintf("the evaluation's built-in calls would build more than %d bytes in all", MaxBuiltinMemory)
			}
			return stop(c.what)
		}
		if c.size > smallResult {
			m.spent += c.size
		}
		return out, nil
	}
}

// stockError passes on an error of a stock built-in without its location
// and code, which the caller (rego's custom function wrapper) adds again.
func stockError(err error) error {
	var halt topdown.Halt
	if errors.As(err, &halt) {
		return rego.NewHaltError(stockError(halt.Err))
	}
	var te *topdown.Error
	if errors.As(err, &te) {
		return errors.New(te.Message)
	}
	return err
}

// readableError gives the guarded stand-ins their stock names back in an
// error's text ("flexauth_bounded.concat: concat: operand 1 must be ..."
// becomes "concat: operand 1 must be ..."), keeping the error to unwrap.
func readableError(err error) error {
	if err == nil || !strings.Contains(err.Error(), guardPrefix) {
		return err
	}
	return &renamedError{msg: stripGuardNames(err.Error()), err: err}
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// stripGuardNames removes every "flexauth_bounded.<name>: ": what follows
// names the built-in again.
func stripGuardNames(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, guardPrefix)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+len(guardPrefix):]
		if j := strings.Index(rest, ": "); j >= 0 && !strings.ContainsAny(rest[:j], " \n") {
			s = rest[j+2:]
		} else {
			s = rest
		}
	}
}

// Estimated bytes a value takes in memory: what one term, one member of a
// collection and one collection cost besides the bytes of its strings and
// numbers (measured on OPA's ast: TestEstimateIsNotLow).
const (
	termCost       = 56
	memberCost     = 24
	collectionCost = 96
)

// estimate is the bytes v would take if nothing in it were shared, counted
// until more than limit: a value made of parts that share their members
// (each array holding the previous one twice) is small in memory, but not
// to copy, print or convert, which is what built-ins do.
func estimate(v ast.Value, limit int64) int64 {
	c := checker{left: limit, noBounds: true}
	c.check(v)
	return c.size
}

// checker walks a value, adding up its estimated size and, unless
// noBounds, checking every string, collection and number in it against the
// bounds. It stops at the first bound hit (what says which) or once size is
// over left (what stays empty).
type checker struct {
	left     int64
	noBounds bool
	size     int64
	what     string
}

func (c *checker) add(n int64) bool {
	c.size += n
	return c.size <= c.left
}

func (c *checker) check(v ast.Value) bool {
	switch v := v.(type) {
	case ast.String:
		if !c.noBounds && len(v) > MaxBuiltinString {
			c.what = fmt.Sprintf("it would return a string of %d bytes, more than %d", len(v), MaxBuiltinString)
			return false
		}
		return c.add(termCost + int64(len(v)))
	case ast.Number:
		if !c.noBounds {
			if msg := saneNumber(v); msg != "" {
				c.what = strings.TrimSuffix(msg, ": "+ErrBuiltinBound.Error())
				return false
			}
		}
		return c.add(termCost + int64(len(v)))
	case *ast.Array:
		if !c.collection(v.Len()) {
			return false
		}
		for i := range v.Len() {
			if !c.check(v.Elem(i).Value) {
				return false
			}
		}
		return true
	case ast.Set:
		if !c.collection(v.Len()) {
			return false
		}
		return !v.Until(func(t *ast.Term) bool { return !c.check(t.Value) })
	case ast.Object:
		if !c.collection(v.Len()) {
			return false
		}
		return !v.Until(func(k, t *ast.Term) bool { return !c.add(memberCost) || !c.check(k.Value) || !c.check(t.Value) })
	default:
		return c.add(termCost)
	}
}

func (c *checker) collection(n int) bool {
	if !c.noBounds && n > MaxBuiltinCollection {
		c.what = fmt.Sprintf("it would return a collection of %d members, more than %d", n, MaxBuiltinCollection)
		return false
	}
	return c.add(termCost + collectionCost + int64(n)*memberCost)
}

// textSize is an upper bound on the bytes of v printed (sprintf's %v, a
// template string, json.marshal), counted until more than limit. Strings
// may be printed escaped: \u0001 is six bytes for one.
func textSize(v ast.Value, limit int64) int64 {
	var size int64
	var walk func(v ast.Value) bool
	walk = func(v ast.Value) bool {
		switch v := v.(type) {
		case ast.String:
			size += 2 + 6*int64(len(v))
		case ast.Number:
			size += 24 + 4*int64(len(v)) // %b prints an integer in binary
		case *ast.Array:
			size += 2
			for i := range v.Len() {
				if size += 2; !walk(v.Elem(i).Value) {
					return false
				}
			}
		case ast.Set:
			size += 6
			if v.Until(func(t *ast.Term) bool { size += 2; return !walk(t.Value) }) {
				return false
			}
		case ast.Object:
			size += 2
			if v.Until(func(k, t *ast.Term) bool { size += 4; return !walk(k.Value) || !walk(t.Value) }) {
				return false
			}
		default:
			size += 8
		}
		return size <= limit
	}
	walk(v)
	return size
}

// --- checks before a call -------------------------------------------------

func tooLong(n int64) string {
	return fmt.Sprintf("it would build a string of up to %d bytes, more than %d", n, MaxBuiltinString)
}

func tooMany(n int64) string {
	return fmt.Sprintf("it would build a collection of %d members, more than %d", n, MaxBuiltinCollection)
}

func number(t *ast.Term) (float64, bool) {
	n, ok := t.Value.(ast.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

func str(t *ast.Term) (string, bool) {
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

// members is how many members a collection has; 1 for anything else.
func members(t *ast.Term) int64 {
	switch v := t.Value.(type) {
	case *ast.Array:
		return int64(v.Len())
	case ast.Set:
		return int64(v.Len())
	case ast.Object:
		return int64(v.Len())
	}
	return 1
}

func preRange(args []*ast.Term) string {
	a, ok1 := number(args[0])
	b, ok2 := number(args[1])
	if !ok1 || !ok2 {
		return ""
	}
	if n := abs(b-a) + 1; n > MaxBuiltinCollection {
		return tooMany(int64(min(n, 1e18)))
	}
	return ""
}

func preRangeStep(args []*ast.Term) string {
	a, ok1 := number(args[0])
	b, ok2 := number(args[1])
	step, ok3 := number(args[2])
	if !ok1 || !ok2 || !ok3 || step <= 0 {
		return "" // the stock built-in refuses a step that is not positive
	}
	if n := abs(b-a)/step + 1; n > MaxBuiltinCollection {
		return tooMany(int64(min(n, 1e18)))
	}
	return ""
}

func abs(f float64) float64 { return max(f, -f) }

// preConcat computes the joined length exactly.
func preConcat(args []*ast.Term) string {
	delim, ok := str(args[0])
	if !ok {
		return ""
	}
	var n int64
	count := int64(0)
	add := func(t *ast.Term) bool {
		if s, ok := str(t); ok {
			n += int64(len(s))
		}
		count++
		return n > MaxBuiltinString
	}
	switch v := args[1].Value.(type) {
	case *ast.Array:
		for i := range v.Len() {
			if add(v.Elem(i)) {
				break
			}
		}
	case ast.Set:
		v.Until(add)
	}
	if count > 1 {
		n += (count - 1) * int64(len(delim))
	}
	if n > MaxBuiltinString {
		return tooLong(n)
	}
	return ""
}

// preSprintf bounds the output from the format's widths and precisions (Go
// accepts up to about ten million each) and what each verb can print: at
// most every argument, escaped.
func preSprintf(args []*ast.Term) string {
	format, ok := str(args[0])
	if !ok {
		return ""
	}
	var argText int64
	if a, ok := args[1].Value.(*ast.Array); ok {
		for i := range a.Len() {
			argText += textSize(a.Elem(i).Value, MaxBuiltinString+1)
			if argText > MaxBuiltinString {
				return tooLong(argText)
			}
		}
	}
	n := int64(len(format)) + argText // extra arguments are printed once after the text
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			continue
		}
		// Flags, argument indexes, widths and precisions, up to the verb.
		for ; i < len(format); i++ {
			c := format[i]
			switch {
			case c >= '0' && c <= '9':
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				w, err := strconv.ParseInt(format[i:j], 10, 64)
				if err != nil || w > MaxBuiltinString {
					return tooLong(MaxBuiltinString + 1)
				}
				n += w
				i = j - 1
				continue
			case c == '*':
				n += 10_000_000 // a width taken from an argument: Go's most
				continue
			case strings.IndexByte("+-# .[]", c) >= 0:
				continue
			}
			break
		}
		n += 16 + argText // the verb prints one argument
		if n > MaxBuiltinString {
			return tooLong(n)
		}
	}
	if n > MaxBuiltinString {
		return tooLong(n)
	}
	return ""
}

func preTemplateString(args []*ast.Term) string {
	if n := textSize(args[0].Value, MaxBuiltinString+1); n > MaxBuiltinString {
		return tooLong(n)
	}
	return ""
}

func preMarshal(args []*ast.Term) string {
	if n := textSize(args[0].Value, MaxBuiltinString+1); n > MaxBuiltinString {
		return tooLong(n)
	}
	return ""
}

// occurrences is how many times old can be replaced in s: at every rune
// boundary for "".
func occurrences(s, old string) int64 {
	if old == "" {
		return int64(utf8.RuneCountInString(s)) + 1
	}
	return int64(strings.Count(s, old))
}

func preReplace(args []*ast.Term) string {
	s, ok1 := str(args[0])
	old, ok2 := str(args[1])
	repl, ok3 := str(args[2])
	if !ok1 || !ok2 || !ok3 {
		return ""
	}
	n := int64(len(s))
	if grow := int64(len(repl)) - int64(len(old)); grow > 0 {
		n += occurrences(s, old) * grow
	}
	if n > MaxBuiltinString {
		return tooLong(n)
	}
	return ""
}

// preReplaceN adds up every pattern's replacements as if none overlapped,
// which is more than strings.Replacer can make.
func preReplaceN(args []*ast.Term) string {
	patterns, ok1 := args[0].Value.(ast.Object)
	s, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return ""
	}
	n := int64(len(s))
	patterns.Until(func(k, v *ast.Term) bool {
		old, ok1 := str(k)
		repl, ok2 := str(v)
		if ok1 && ok2 {
			n += occurrences(s, old) * int64(len(repl))
		}
		return n > MaxBuiltinString
	})
	if n > MaxBuiltinString {
		return tooLong(n)
	}
	return ""
}

func preSplit(args []*ast.Term) string {
	s, ok1 := str(args[0])
	delim, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return ""
	}
	n := int64(strings.Count(s, delim)) + 1
	if delim == "" {
		n = int64(utf8.RuneCountInString(s))
	}
	if n > MaxBuiltinCollection {
		return tooMany(n)
	}
	return ""
}

func preArrayConcat(args []*ast.Term) string {
	if n := members(args[0]) + members(args[1]); n > MaxBuiltinCollection {
		return tooMany(n)
	}
	return ""
}

func preSetUnion(args []*ast.Term) string {
	return preArrayConcat(args)
}

func preUnion(args []*ast.Term) string {
	sets, ok := args[0].Value.(ast.Set)
	if !ok {
		return ""
	}
	var n int64
	sets.Until(func(t *ast.Term) bool {
		n += members(t)
		return n > MaxBuiltinCollection
	})
	if n > MaxBuiltinCollection {
		return tooMany(n)
	}
	return ""
}

func preCIDRMatches(args []*ast.Term) string {
	if n := members(args[0]) * members(args[1]); n > MaxBuiltinCollection {
		return tooMany(n)
	}
	return ""
}

// preRegex refuses long patterns and patterns whose compiled program would
// be large; Go's own limit on that is a hundred megabytes, per pattern.
func preRegex(args []*ast.Term) string {
	pattern, ok := str(args[0])
	if !ok {
		return ""
	}
	if len(pattern) > maxPattern {
		return fmt.Sprintf("its pattern has %d bytes, more than %d", len(pattern), maxPattern)
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "" // the stock built-in reports the syntax error
	}
	if regexpSize(re) > maxRegexpSize {
		return fmt.Sprintf("its pattern would compile to more than %d instructions", maxRegexpSize)
	}
	return ""
}

// regexpSize estimates a parsed expression's compiled size, counting a
// repetition's body once per repeat, and stops counting past the bound.
func regexpSize(re *syntax.Regexp) int {
	n := 1 + len(re.Rune)
	for _, sub := range re.Sub {
		n += regexpSize(sub)
		if n > maxRegexpSize {
			return n
		}
	}
	if re.Op == syntax.OpRepeat {
		times := re.Max
		if times < 0 {
			times = re.Min + 1
		}
		n *= max(times, 1)
	}
	return n
}

func preGlob(args []*ast.Term) string {
	if pattern, ok := str(args[0]); ok && len(pattern) > maxPattern {
		return fmt.Sprintf("its pattern has %d bytes, more than %d", len(pattern), maxPattern)
	}
	return ""
}

// decisionJSON converts a decision to Go values for decode, refusing one
// too large to convert: values that share their parts (each array holding
// the previous one twice) are built without a built-in, in few steps.
func decisionJSON(t *ast.Term, _ *rego.EvalContext) (any, error) {
	if n := textSize(t.Value, maxResult); n > maxResult {
		return nil, fmt.Errorf("the decision is larger than %d bytes: %w", maxResult, ErrBuiltinBound)
	}
	return ast.JSON(t.Value)
}
