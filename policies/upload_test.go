package policies

import (
	"os"
	"strings"
	"testing"
)

// closedVPN is a stricter policy an account might upload: it refuses
// system vpn and otherwise keeps the assigned method. The API tests upload
// the same files. They live outside policies/ because `opa test
// policies/` loads every .rego beneath the folder, and this risk.rego
// clashes with the default one (two default rules for allow).
var (
	closedVPN      = mustRead("../testdata/uploaded-policies/closed-vpn/risk.rego")
	closedVPNTests = mustRead("../testdata/uploaded-policies/closed-vpn/risk_test.rego")
)

func mustRead(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(raw)
}

// uploadCase is an upload and what its review must say. The same cases
// run in this process (TestReviewUpload) and in a review child
// (TestReviewerGivesReviewUploadsVerdict).
type uploadCase struct {
	name        string
	rego, tests string
	refusal     string   // substring of the refusal; "" for an accepted policy
	problem     *Problem // a problem that must be reported (Message: a substring)
	failed      []string // tests that must be reported as failed
}

func uploadCases() []uploadCase {
	return []uploadCase{
		{
			name: "a policy that compiles and passes its tests is accepted",
			rego: closedVPN, tests: closedVPNTests,
		},
		{
			name: "a syntax error is refused with its line and column",
			rego: strings.Replace(closedVPN, `"risk": "high",`, `"risk": "high",,`, 1), tests: closedVPNTests,
			refusal: "do not parse",
			problem: &Problem{File: UploadModuleFile, Line: 9, Column: 17},
		},
		{
			name: "a syntax error in the tests is refused with its line",
			rego: closedVPN, tests: strings.Replace(closedVPNTests, "test_wiki_is_open if {", "test_wiki_is_open if {{", 1),
			refusal: "do not parse",
			problem: &Problem{File: UploadTestsFile, Line: 10},
		},
		{
			name: "an unsafe variable is refused with its line",
			rego: closedVPN + "\nextra if { x > 1 }\n", tests: closedVPNTests,
			refusal: "does not compile",
			problem: &Problem{File: UploadModuleFile, Line: 20, Column: 12, Message: "var x is unsafe"},
		},
		{
			name: "a network built-in is refused: uploaded policies reach nothing",
			rego: closedVPN + "\nremote := http.send({\"method\": \"get\", \"url\": \"https://example.com\"})\n", tests: closedVPNTests,
			refusal: "does not compile",
			problem: &Problem{File: UploadModuleFile, Line: 20, Message: "undefined function http.send"},
		},
		{
			name: "a policy without a decision is refused",
			rego: "package flexauth.risk\n\nallow := true\n", tests: "package flexauth.risk_test\n\ntest_true if true\n",
			refusal: "does not compile",
			problem: &Problem{File: UploadModuleFile, Message: "no rule defines data.flexauth.risk.decision"},
		},
		{
			name: "another package is refused",
			rego: strings.Replace(closedVPN, "package flexauth.risk", "package acme.risk", 1), tests: closedVPNTests,
			refusal: "must be package flexauth.risk, not acme.risk",
			problem: &Problem{File: UploadModuleFile, Line: 1},
		},
		{
			name: "tests in the policy's own package are refused",
			rego: closedVPN, tests: strings.Replace(closedVPNTests, "package flexauth.risk_test", "package flexauth.risk", 1),
			refusal: "package of their own",
		},
		{
			name: "a policy without tests is refused",
			rego: closedVPN, tests: "  \n",
			refusal: "a policy without tests is refused",
		},
		{
			name: "tests without a test rule are refused",
			rego: closedVPN, tests: "package flexauth.risk_test\n\nhelper := 1\n",
			refusal: "a policy without tests is refused",
		},
		{
			name: "an empty policy is refused",
			rego: "", tests: closedVPNTests,
			refusal: "the policy is empty",
		},
		{
			name: "a failing test is refused and named",
			rego: strings.Replace(closedVPN, `input.system.name != "vpn"`, `input.system.name != "mail"`, 1), tests: closedVPNTests,
			refusal: "1 of 2 tests failed: test_vpn_is_closed",
			failed:  []string{"test_vpn_is_closed"},
		},
	}
}

// check fails t unless r is the review tt must get.
func (tt uploadCase) check(t *testing.T, r Review) {
	t.Helper()
	if tt.refusal == "" {
		if !r.Accepted() || len(r.Tests) != 2 || !r.Tests[0].Pass || !r.Tests[1].Pass {
			t.Fatalf("review = %+v, want accepted with 2 passing tests", r)
		}
		return
	}
	if r.Accepted() || !strings.Contains(r.Refusal, tt.refusal) {
		t.Fatalf("refusal = %q, want it to contain %q (review %+v)", r.Refusal, tt.refusal, r)
	}
	if tt.problem != nil && !hasProblem(r.Problems, *tt.problem) {
		t.Fatalf("problems = %+v, want one like %+v", r.Problems, *tt.problem)
	}
	for _, name := range tt.failed {
		found := false
		for _, res := range r.Tests {
			found = found || (res.Name == name && !res.Pass)
		}
		if !found {
			t.Errorf("tests = %+v, want %s failed", r.Tests, name)
		}
	}
}

func TestReviewUpload(t *testing.T) {
	for _, tt := range uploadCases() {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReviewUpload(t.Context(), tt.rego, tt.tests)
			if err != nil {
				t.Fatalf("ReviewUpload: %v", err)
			}
			tt.check(t, r)
		})
	}
}

// hasProblem reports whether a problem matches want: same file, the same
// line and column when want has them, and a message containing want's.
func hasProblem(problems []Problem, want Problem) bool {
	for _, p := range problems {
		if p.File == want.File &&
			(want.Line == 0 || p.Line == want.Line) &&
			(want.Column == 0 || p.Column == want.Column) &&
			strings.Contains(p.Message, want.Message) {
			return true
		}
	}
	return false
}
