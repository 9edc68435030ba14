package policies

import (
	"strings"
	"testing"
)

func TestDefaultPolicyPassesItsRegoTests(t *testing.T) {
	results, err := RunTests(t.Context(), Default(), DefaultTests())
	if err != nil {
		t.Fatalf("RunTests: %v", err)
	}
	if len(results) == 0 {
		t.Fatal("RunTests found no tests")
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s (%s) at %s: fail=%v error=%q", r.Name, r.Package, r.Location, r.Fail, r.Error)
		}
	}
	t.Logf("%d Rego tests passed", len(results))
}

func TestRunTestsReportsEachOutcome(t *testing.T) {
	tests := map[string]string{"check_test.rego": `package flexauth.risk_test

import data.flexauth.risk

test_allows if risk.decision.allow

test_denies if not risk.decision.allow

test_divides if 1 / 0 == 1
`}
	results, err := RunTests(t.Context(), policy(`decision := `+allowPIN), tests)
	if err != nil {
		t.Fatalf("RunTests: %v", err)
	}
	want := map[string]TestResult{
		"test_allows":  {Pass: true, Location: "check_test.rego:5"},
		"test_denies":  {Fail: true, Location: "check_test.rego:7"},
		"test_divides": {Location: "check_test.rego:9"}, // an error is neither pass nor fail
	}
	if len(results) != len(want) {
		t.Fatalf("RunTests = %+v, want %d results", results, len(want))
	}
	for _, r := range results {
		w, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected result %+v", r)
			continue
		}
		if r.Pass != w.Pass || r.Fail != w.Fail || r.Location != w.Location || r.Package != "data.flexauth.risk_test" {
			t.Errorf("%s = %+v, want pass=%v fail=%v at %s", r.Name, r, w.Pass, w.Fail, w.Location)
		}
		if gotErr := r.Error != ""; gotErr != (r.Name == "test_divides") {
			t.Errorf("%s error = %q", r.Name, r.Error)
		}
	}
}

func TestRunTestsRejectsBrokenFiles(t *testing.T) {
	tests := []struct {
		name    string
		tests   map[string]string
		wantErr string
	}{
		{
			name:    "a compile error names its file and line",
			tests:   map[string]string{"broken_test.rego": "package flexauth.risk_test\n\ntest_unsafe if x == 1\n"},
			wantErr: "broken_test.rego:3",
		},
		{
			name:    "a syntax error names its file and line",
			tests:   map[string]string{"broken_test.rego": "package flexauth.risk_test\n\n\ntest_x if { 1 == }\n"},
			wantErr: "broken_test.rego:4",
		},
		{
			name:    "a test file may not shadow a module",
			tests:   map[string]string{"policy.rego": "package flexauth.risk_test\n"},
			wantErr: "both a module and a test",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, err := RunTests(t.Context(), policy(`decision := `+allowPIN), tt.tests)
			if err == nil {
				t.Fatalf("RunTests = %+v, nil error; want an error containing %q", results, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}
