package policies

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is one Rego test's outcome.
type TestResult struct {
	Name     string // rule name, e.g. test_lockout_denies
	Package  string // e.g. data.flexauth.risk_test
	Pass     bool
	Fail     bool   // the test ran and was false or undefined
	Error    string // why the test could not run to an answer (then Fail is false)
	Location string // file:line of the test rule
}

// RunTests compiles modules plus tests and runs every test_ rule, each for
// at most 5 seconds (as opa test does). A compile error returns an error
// whose message includes file:line locations. Results are sorted by
// package and name.
func RunTests(ctx context.Context, modules, tests map[string]string) ([]TestResult, error) {
	return runTests(ctx, modules, tests, defaultTestTimeout)
}

// defaultTestTimeout bounds one test of RunTests.
const defaultTestTimeout = 5 * time.Second

// runTests is RunTests with perTest bounding each test.
func runTests(ctx context.Context, modules, tests map[string]string, perTest time.Duration) ([]TestResult, error) {
	all := make(map[string]string, len(modules)+len(tests))
	for name, src := range modules {
		all[name] = src
	}
	for name, src := range tests {
		if _, dup := all[name]; dup {
			return nil, fmt.Errorf("run policy tests: file %s is both a module and a test", name)
		}
		all[name] = src
	}
	parsed, err := parse(all)
	if err != nil {
		return nil, err
	}
	var builtins []*tester.Builtin
	for _, g := range guards() {
		builtins = append(builtins, &tester.Builtin{Decl: g.decl, Func: g.fn})
	}
	ch, err := tester.NewRunner().
		SetCompiler(newCompiler()).
		AddCustomBuiltins(builtins).
		SetModules(parsed).
		RaiseBuiltinErrors(true). // as the engine does: StrictBuiltinErrors
		SetTimeout(perTest).
		RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("compile policy tests: %w", err)
	}
	var results []TestResult
	for r := range ch {
		tr := TestResult{
			Name:    r.Name,
			Package: r.Package,
			Pass:    r.Pass(),
			// As opa test reports it: an error, not a failure, when the
			// test could not run to an answer.
			Fail: r.Fail && r.Error == nil,
		}
		if r.Error != nil {
			tr.Error = readableError(r.Error).Error()
		}
		if r.Location != nil {
			tr.Location = fmt.Sprintf("%s:%d", r.Location.File, r.Location.Row)
		}
		results = append(results, tr)
	}
	// The runner stops early when the context ends; a partial list must not
	// pass for a complete one.
	if err := ctx.Err(); err != nil {
		return results, fmt.Errorf("run policy tests: %w", err)
	}
	sort.Slice(results, func(i, j int) bool {
		if results[i].Package != results[j].Package {
			return results[i].Package < results[j].Package
		}
		return results[i].Name < results[j].Name
	})
	return results, nil
}
