package policies

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The file names an uploaded policy is compiled under: problems and test
// locations refer to them.
const (
	UploadModuleFile = "policy.rego"
	UploadTestsFile  = "policy_test.rego"
)

// riskPackage is the package an uploaded policy must define: the engine
// queries data.flexauth.risk.decision.
const riskPackage = "data.flexauth.risk"

// Problem is one thing wrong with an uploaded policy or its tests, located
// when the compiler says where (Line and Column are 0 otherwise).
type Problem struct {
	File    string
	Line    int
	Column  int
	Message string
}

// reviewTestTimeout stands for "no per-test timeout" in ReviewUpload: the
// context and the review process's limits end a review.
const reviewTestTimeout = 24 * time.Hour

// Review is the verdict on an uploaded policy.
type Review struct {
	// Refusal says why the policy cannot become active; "" when it can.
	Refusal  string
	Problems []Problem
	Tests    []TestResult // every test run, passed or not
	// Limit names the limit the review exceeded (LimitMemory, LimitTime),
	// when that is why it was refused. Only a Reviewer sets it.
	Limit string
	// Usage is what the review process used; only a Reviewer sets it.
	Usage ReviewUsage
}

// ReviewUsage is what a review's child process used.
type ReviewUsage struct {
	PeakMemory int64         // peak resident memory, bytes
	CPU        time.Duration // user and system time
}

// Accepted reports whether the policy compiled and all its tests passed.
func (r Review) Accepted() bool { return r.Refusal == "" }

// ReviewUpload compiles an account's uploaded policy (one module in package
// flexauth.risk) and runs its tests (a module of its own, with at least one
// test_ rule), which is what must happen before it becomes active. A
// policy that is refused says why in Review.Refusal, with located
// Problems or failed Tests; the error is only for a review that could not
// finish (the context ended).
//
// It runs in the calling process with no bound but ctx on time and none on
// memory: the API reviews uploads through a [Reviewer], which calls it in a
// child process that is limited. Each test runs until ctx ends (not 5
// seconds as in RunTests), so that the limits of that process, not a
// per-test timer, decide when a slow policy has had enough.
func ReviewUpload(ctx context.Context, rego, tests string) (Review, error) {
	switch {
	case strings.TrimSpace(rego) == "":
		return Review{Refusal: "the policy is empty"}, nil
	case strings.TrimSpace(tests) == "":
		// Tests are what shows an uploaded policy does what its author
		// meant before it decides real sign-ins.
		return Review{Refusal: "a policy without tests is refused: upload tests (test_ rules, e.g. in package flexauth.risk_test) with it"}, nil
	}

	policyModule, policyProblems := parseUpload(UploadModuleFile, rego)
	testsModule, testProblems := parseUpload(UploadTestsFile, tests)
	if problems := append(policyProblems, testProblems...); len(problems) > 0 {
		return Review{Refusal: "the policy or its tests do not parse", Problems: problems}, nil
	}
	if pkg := policyModule.Package; pkg.Path.String() != riskPackage {
		return Review{
			Refusal:  fmt.Sprintf("the policy must be package flexauth.risk, not %s", strings.TrimPrefix(pkg.Path.String(), "data.")),
			Problems: []Problem{located(UploadModuleFile, pkg.Location, "package must be flexauth.risk")},
		}, nil
	}
	if pkg := testsModule.Package; pkg.Path.String() == riskPackage {
		// Rules in the tests would join the policy under test but not the
		// one that runs: the tests must see the policy as it will run.
		return Review{
			Refusal:  "the tests must be in a package of their own (e.g. flexauth.risk_test), not flexauth.risk",
			Problems: []Problem{located(UploadTestsFile, pkg.Location, "tests must not be package flexauth.risk")},
		}, nil
	}

	if _, err := New(ctx, map[string]string{UploadModuleFile: rego}); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return Review{}, fmt.Errorf("review policy: %w", cerr)
		}
		return Review{Refusal: "the policy does not compile", Problems: problemsOf(UploadModuleFile, err)}, nil
	}
	results, err := runTests(ctx, map[string]string{UploadModuleFile: rego}, map[string]string{UploadTestsFile: tests}, reviewTestTimeout)
	if cerr := ctx.Err(); cerr != nil {
		return Review{}, fmt.Errorf("review policy: %w", cerr)
	}
	if err != nil {
		return Review{Refusal: "the tests do not compile", Problems: problemsOf(UploadTestsFile, err)}, nil
	}
	review := Review{Tests: results}
	if len(results) == 0 {
		review.Refusal = "a policy without tests is refused: the tests define no test_ rule"
		return review, nil
	}
	var failed []string
	for _, r := range results {
		if !r.Pass {
			failed = append(failed, r.Name)
		}
	}
	if len(failed) > 0 {
		review.Refusal = fmt.Sprintf("%d of %d tests failed: %s", len(failed), len(results), strings.Join(failed, ", "))
	}
	return review, nil
}

// parseUpload parses one uploaded Rego v1 module.
func parseUpload(file, src string) (*ast.Module, []Problem) {
	m, err := ast.ParseModuleWithOpts(file, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, problemsOf(file, err)
	}
	return m, nil
}

// problemsOf turns a parse or compile error into located problems. An
// error the compiler does not locate is one problem against file.
func problemsOf(file string, err error) []Problem {
	var astErrs ast.Errors
	if !errors.As(err, &astErrs) || len(astErrs) == 0 {
		return []Problem{{File: file, Message: err.Error()}}
	}
	problems := make([]Problem, 0, len(astErrs))
	for _, e := range astErrs {
		problems = append(problems, located(file, e.Location, e.Message))
	}
	return problems
}

func located(file string, loc *ast.Location, msg string) Problem {
	p := Problem{File: file, Message: msg}
	if loc != nil {
		if loc.File != "" {
			p.File = loc.File
		}
		p.Line, p.Column = loc.Row, loc.Col
	}
	return p
}
