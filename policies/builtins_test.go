package policies

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Built-ins a policy must never reach: they read files, reach the network,
// read the process, are random, or build a huge value from a small argument.
var forbiddenBuiltins = []string{
	"json.verify_schema", "json.match_schema", "http.send", "net.lookup_ip_addr",
	"opa.runtime", "rand.intn", "uuid.rfc4122", "io.jwt.decode_verify", "io.jwt.decode",
	"crypto.x509.parse_and_verify_certificates", "providers.aws.sign_req",
	"net.cidr_expand", "bits.lsh", "units.parse", "units.parse_bytes", "walk",
	"strings.render_template", "json.patch", "json.unmarshal", "yaml.unmarshal",
	"rego.parse_module", "graphql.parse", "trace", "product", "array.flatten",
}

func TestAllowListNamesOPABuiltins(t *testing.T) {
	caps := map[string]bool{}
	for _, b := range policyCapabilities().Builtins {
		caps[b.Name] = true
	}
	for name, b := range policyBuiltins() {
		if ast.BuiltinMap[name] == nil || !caps[name] {
			t.Errorf("allowed built-in %s is not one of OPA's (renamed or removed in an upgrade?)", name)
		}
		if b.guarded && (topdown.GetBuiltin(name) == nil || !caps[guardPrefix+name]) {
			t.Errorf("guarded built-in %s has no stock implementation or no stand-in", name)
		}
		if !b.guarded && b.pre != nil {
			t.Errorf("plain built-in %s has a check that never runs", name)
		}
	}
	for _, name := range forbiddenBuiltins {
		if caps[name] || caps[guardPrefix+name] {
			t.Errorf("forbidden built-in %s is allowed", name)
		}
	}
	if n := len(policyCapabilities().AllowNet); n != 0 {
		t.Errorf("AllowNet has %d hosts, want none", n)
	}
}

// The schema loader opens file:// references: /dev/zero exhausts memory,
// /etc/passwd answers whether a file exists. A policy whose tests never
// reach the call must be refused all the same, when it is uploaded.
func TestUploadRefusesBuiltinsOutsideTheAllowList(t *testing.T) {
	for _, call := range []string{
		`json.verify_schema({"$ref": "file:///etc/passwd"})`,
		`json.match_schema({}, {"$ref": "file:///dev/zero"})`,
		`opa.runtime()`,
		`net.cidr_expand("0.0.0.0/0")`,
		`rand.intn("x", 10)`,
	} {
		name := call[:strings.IndexByte(call, '(')]
		t.Run(name, func(t *testing.T) {
			rego := closedVPN + "\nprobe := " + call + " if input.system.name == \"never\"\n"
			r, err := ReviewUpload(t.Context(), rego, closedVPNTests)
			if err != nil {
				t.Fatalf("ReviewUpload: %v", err)
			}
			want := Problem{File: UploadModuleFile, Line: 20, Message: "undefined function " + name}
			if r.Accepted() || !strings.Contains(r.Refusal, "does not compile") || !hasProblem(r.Problems, want) {
				t.Fatalf("review = %+v, want refused at compile time with %+v", r, want)
			}
		})
	}
}

// A version stored before the allow-list existed fails closed when it is
// next compiled for a decision.
func TestStoredPolicyCallingAForbiddenBuiltinDenies(t *testing.T) {
	st := openStore(t)
	reg := NewRegistry(st)
	upload(t, st, "a", strings.Replace(closedVPN, `allow if input.system.name != "vpn"`,
		`allow if json.verify_schema({"$ref": "file:///etc/passwd"})[0]`, 1))
	d, _, err := reg.DecideVersion(t.Context(), vpnSignIn("a"))
	if err == nil || d.Allow || !strings.Contains(err.Error(), "undefined function json.verify_schema") {
		t.Fatalf("decision = %+v, %v; want a denial naming json.verify_schema", d, err)
	}
}

// doubling is n+1 rules, on lines 3 to n+3 of a policy: s0 is 16 bytes,
// and each next one concat doubles, so that sN is 2^N * 16 bytes.
func doubling(n int) string {
	var b strings.Builder
	b.WriteString("s0 := \"0123456789abcdef\"\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "s%d := concat(\"\", [s%d, s%d])\n", i, i-1, i-1)
	}
	return b.String()
}

// usage runs f and reports what it allocated in all (garbage included)
// and by how much the live heap grew at most, sampled every millisecond.
func usage(f func()) (allocated, peakGrowth uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	peak = max(peak, after.HeapAlloc)
	return after.TotalAlloc - before.TotalAlloc, peak - min(peak, before.HeapAlloc)
}

// Each of these would allocate gigabytes in one built-in call, or in a few
// calls within the step budget, in the process that decides. Each must be
// stopped before it does, denying with a reason that names the built-in
// and the bound.
func TestDecideStopsBuiltinsBeforeTheyBuildTooMuch(t *testing.T) {
	tests := []struct {
		name, rules string
		want        string // in the error, after "evaluate policy: "
	}{
		{
			name:  "a string doubled 35 times with concat stops at 1 MiB",
			rules: doubling(35) + `decision := ` + allowPIN + ` if count(s35) > 0`,
			want:  "concat at policy.rego:20: it would build a string of up to 2097152 bytes, more than 1048576",
		},
		{
			name:  "numbers.range over a billion numbers",
			rules: `decision := ` + allowPIN + ` if count(numbers.range(1, 1000000000)) > 0`,
			want:  "numbers.range at policy.rego:3: it would build a collection of 1000000000 members, more than 100000",
		},
		{
			name:  "numbers.range_step over a billion numbers",
			rules: `decision := ` + allowPIN + ` if count(numbers.range_step(0, 2000000000, 2)) > 0`,
			want:  "numbers.range_step at policy.rego:3: it would build a collection of 1000000001 members",
		},
		{
			name:  "sprintf with a huge width",
			rules: `decision := ` + allowPIN + ` if count(sprintf("%0999999999d", [1])) > 0`,
			want:  "sprintf at policy.rego:3: it would build a string of up to 1048577 bytes",
		},
		{
			name:  "sprintf with many wide verbs",
			rules: `decision := ` + allowPIN + ` if count(sprintf(concat("", ["%09999999d" | some _ in numbers.range(1, 200)]), [1])) > 0`,
			want:  "sprintf at policy.rego:3: it would build a string of up to",
		},
		{
			name:  "replace inserting at every character",
			rules: doubling(15) + `decision := ` + allowPIN + ` if count(replace(s15, "", "0123456789")) > 0`,
			want:  "replace at policy.rego:19: it would build a string of up to",
		},
		{
			name:  "split into every character",
			rules: doubling(16) + `decision := ` + allowPIN + ` if count(split(s16, "")) > 0`,
			want:  "split at policy.rego:20: it would build a collection of 1048576 members",
		},
		{
			name: "json.marshal of arrays sharing their members",
			rules: `a0 := ["0123456789abcdef"]
a1 := [a0, a0, a0, a0, a0, a0, a0, a0]
a2 := [a1, a1, a1, a1, a1, a1, a1, a1]
a3 := [a2, a2, a2, a2, a2, a2, a2, a2]
a4 := [a3, a3, a3, a3, a3, a3, a3, a3]
a5 := [a4, a4, a4, a4, a4, a4, a4, a4]
a6 := [a5, a5, a5, a5, a5, a5, a5, a5]
a7 := [a6, a6, a6, a6, a6, a6, a6, a6]
a8 := [a7, a7, a7, a7, a7, a7, a7, a7]
a9 := [a8, a8, a8, a8, a8, a8, a8, a8]
decision := ` + allowPIN + ` if count(json.marshal(a9)) > 0`,
			want: "json.marshal at policy.rego:13: its arguments are larger than 16777216 bytes",
		},
		{
			name: "a comprehension collecting strings just under 1 MiB",
			rules: doubling(15) + `big := concat("", [s15, s14, s13, s12])
decision := ` + allowPIN + ` if count([s | some i in numbers.range(1, 100000); s := concat("", [big, format_int(i, 10)])]) > 0`,
			want: "concat at policy.rego:20: the evaluation's built-in calls would build more than 16777216 bytes in all",
		},
		{
			name: "a number squared over and over",
			rules: `n0 := 10000000000
n1 := n0 * n0
n2 := n1 * n1
n3 := n2 * n2
n4 := n3 * n3
n5 := n4 * n4
n6 := n5 * n5
n7 := n6 * n6
n8 := n7 * n7
n9 := n8 * n8
n10 := n9 * n9
n11 := n10 * n10
n12 := n11 * n11
n13 := n12 * n12
n14 := n13 * n13
n15 := n14 * n14
n16 := n15 * n15
n17 := n16 * n16
n18 := n17 * n17
n19 := n18 * n18
n20 := n19 * n19
n21 := n20 * n20
n22 := n21 * n21
n23 := n22 * n22
n24 := n23 * n23
n25 := n24 * n24
n26 := n25 * n25
n27 := n26 * n26
n28 := n27 * n27
n29 := n28 * n28
n30 := n29 * n29
decision := ` + allowPIN + ` if n30 > 0`,
			want: "mul at policy.rego:7: number 10000000000000000000... has more than 100 characters",
		},
		{
			name:  "a regular expression that compiles to millions of instructions",
			rules: `decision := ` + allowPIN + ` if not regex.match("(0123456789abcdef){1000}", "b")`,
			want:  "regex.match at policy.rego:3: its pattern would compile to more than 10000 instructions",
		},
		{
			// The bound halts the evaluation: a failing built-in under
			// `not` would otherwise be undefined, and `not` true.
			name:  "a bound hit under not denies",
			rules: `decision := ` + allowPIN + ` if not count(numbers.range(1, 1000000000)) > 0`,
			want:  "numbers.range at policy.rego:3: it would build a collection of 1000000000 members",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, policy(tt.rules))
			var got Decision
			var err error
			start := time.Now()
			allocated, grew := usage(func() { got, err = e.Decide(t.Context(), signIn()) })
			took := time.Since(start)
			assertFailedClosed(t, got, err, "evaluate policy: "+tt.want)
			if !errors.Is(err, ErrBuiltinBound) {
				t.Errorf("error %v is not ErrBuiltinBound", err)
			}
			if strings.Contains(err.Error(), guardPrefix) {
				t.Errorf("error %q names a stand-in", err)
			}
			t.Logf("denied after %s, %d KiB allocated, heap grew %d KiB: %v", took.Round(time.Millisecond), allocated>>10, grew>>10, err)
			if took > 5*time.Second {
				t.Errorf("denied after %s, want at once", took)
			}
			if allocated > 64<<20 || grew > 64<<20 {
				t.Errorf("the decision allocated %d MiB (heap grew %d MiB), want at most 64", allocated>>20, grew>>20)
			}
		})
	}
}

// A comprehension that builds a large collection step by step, without a
// built-in that could build it at once, is stopped by the step budget.
// What it holds by then is proportional to the steps and to what each step
// builds: a member shared with the range costs a few bytes a step, a new
// pair a hundred and fifty, a new array of 256 members enough to reach a
// gigabyte before EvaluationTimeout. The second case is a record of that
// (and fails if EvaluationSteps grows), not a bound the engine promises;
// see the README on policies.
func TestStepBudgetBoundsComprehensions(t *testing.T) {
	for _, tt := range []struct {
		name, element string
		maxGrowth     uint64
	}{
		{"members of a range", "i", 64 << 20},
		{"pairs built at each step", "[i, j]", 256 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, policy(`r := numbers.range(1, 100000)
decision := `+allowPIN+` if count([`+tt.element+` | some i in r; some j in r]) > 0`))
			var got Decision
			var err error
			allocated, grew := usage(func() { got, err = e.Decide(t.Context(), signIn()) })
			assertFailedClosed(t, got, err, ErrEvaluationSteps.Error())
			t.Logf("%d MiB allocated in all, heap grew %d MiB", allocated>>20, grew>>20)
			if grew > tt.maxGrowth {
				t.Errorf("the heap grew %d MiB, want at most %d", grew>>20, tt.maxGrowth>>20)
			}
		})
	}
}

func TestNumbersOutOfBoundsDoNotCompile(t *testing.T) {
	// OPA's parser takes exponents up to about ±30000 (decimal): 1e30000
	// is 100 KB as an exact integer, and squaring it a few times is more.
	for _, n := range []string{"1e30000", "1e-30000", "1" + strings.Repeat("0", 120)} {
		t.Run(n[:min(len(n), 16)], func(t *testing.T) {
			_, err := New(t.Context(), policy(`decision := `+allowPIN+` if input.history.login_count < `+n))
			if err == nil || !strings.Contains(err.Error(), ErrBuiltinBound.Error()) {
				t.Fatalf("New: %v, want a compile error naming the bound", err)
			}
			if !strings.Contains(err.Error(), "policy.rego:3") {
				t.Errorf("error %q does not locate the number", err)
			}
		})
	}
}

// A decision made of arrays that share their members, built in a few steps
// without a built-in, is refused before it is converted.
func TestDecideRefusesADecisionTooLargeToConvert(t *testing.T) {
	var b strings.Builder
	b.WriteString("r0 := [\"no\"]\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "r%d := [r%d, r%d]\n", i, i-1, i-1)
	}
	b.WriteString(`decision := {"allow": false, "method": "", "ttl_seconds": 0, "max_attempts": 0, "risk": "high", "reasons": r40}`)
	e := newEngine(t, policy(b.String()))
	var got Decision
	var err error
	allocated, _ := usage(func() { got, err = e.Decide(t.Context(), signIn()) })
	assertFailedClosed(t, got, err, "the decision is larger than 1048576 bytes")
	if !errors.Is(err, ErrBuiltinBound) {
		t.Errorf("error %v is not ErrBuiltinBound", err)
	}
	if allocated > 64<<20 {
		t.Errorf("the decision allocated %d MiB", allocated>>20)
	}
}

// The errors of stock built-ins read as they did before the guards.
func TestGuardedBuiltinErrorsNameTheBuiltin(t *testing.T) {
	e := newEngine(t, policy(`decision := object.union(`+allowPIN+`, {"max_attempts": to_number(input.request.ip)})`))
	got, err := e.Decide(t.Context(), signIn())
	assertFailedClosed(t, got, err, "policy.rego:3: eval_builtin_error: to_number: strconv.ParseFloat")
	if strings.Contains(err.Error(), guardPrefix) {
		t.Errorf("error %q names a stand-in", err)
	}
}

// What a risk policy does with strings, numbers, collections, addresses and
// times still works, within the bounds, and so do tests that replace a
// guarded built-in with `with`.
func TestOrdinaryPolicyUsingBuiltinsStillWorks(t *testing.T) {
	rules := `office := ["10.0.0.0/8", "198.51.100.0/24"]

in_office if net.cidr_contains(office[_], input.request.ip)

hour := time.clock([time.parse_rfc3339_ns(input.request.time), "UTC"])[0]

bucket := to_number(substring(crypto.sha256(input.subject.authid), 0, 1) == "a")

labels := sort(array.concat([lower(s) | some s in split("Wiki,VPN", ",")], ["x"]))

reasons := [
	sprintf("system %s (%s)", [input.system.name, concat("/", labels)]),
	$"hour {hour} of {count(numbers.range(0, 23))}",
	replace(trim_space("  from the office  "), "the office", "work"),
	json.marshal(object.union({"a": 1}, {"b": [1, 2]})),
	format_int(255, 16),
] if in_office

allowed if {
	glob.match("w*", [], input.system.name)
	regex.match("^[a-z]+$", input.system.name)
}

default allowed := false

decision := {
	"allow": allowed, "method": "pin", "ttl_seconds": 60 * 5, "max_attempts": max({3, 5}), "risk": "low",
	"reasons": array.concat(reasons, [sprintf("bucket %d", [bucket])]),
}`
	got, err := newEngine(t, policy(rules)).Decide(t.Context(), signIn())
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	want := []string{
		"system wiki (vpn/wiki/x)", "hour 3 of 24", "from work", `{"a":1,"b":[1,2]}`, "ff", "bucket 0",
	}
	if !got.Allow || got.TTLSeconds != 300 || got.MaxAttempts != 5 || !slices.Equal(got.Reasons, want) {
		t.Fatalf("Decide = %+v, want allowed with reasons %q", got, want)
	}

	results, err := RunTests(t.Context(), policy(rules), map[string]string{"policy_test.rego": `package flexauth.risk_test

import data.flexauth.risk

test_reasons_with_a_fixed_concat if {
	"system wiki (fixed)" in risk.decision.reasons with concat as fixed with input as {"system": {"name": "wiki"}, "subject": {"authid": "a"}, "request": {"ip": "10.1.2.3", "time": "2025-01-02T03:04:05Z"}}
}

fixed(_, _) := "fixed"

test_bounds_hold_in_tests if {
	count(numbers.range(1, 1000000000)) > 0
}
`})
	if err != nil {
		t.Fatalf("RunTests: %v", err)
	}
	// Sorted by name: test_bounds_hold_in_tests first.
	if len(results) != 2 || results[0].Pass || !results[1].Pass ||
		!strings.Contains(results[0].Error, "numbers.range at policy_test.rego:12: it would build a collection of 1000000000 members") ||
		strings.Contains(results[0].Error, guardPrefix) {
		t.Fatalf("results = %+v, want the mocked test to pass and the other to err at the bound", results)
	}
}

// Every policy in the repository compiles under the allow-list and passes
// its tests: the built-in one and each uploaded example.
func TestEveryPolicyInTheRepositoryPassesItsTests(t *testing.T) {
	results, err := RunTests(t.Context(), Default(), DefaultTests())
	if err != nil || len(results) == 0 {
		t.Fatalf("built-in policy: %v, %d results", err, len(results))
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("built-in policy: %s: fail=%v error=%q", r.Name, r.Fail, r.Error)
		}
	}
	dirs, err := filepath.Glob("../testdata/uploaded-policies/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no uploaded policies: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r, err := ReviewUpload(t.Context(), readFile(t, dir, "risk.rego"), readFile(t, dir, "risk_test.rego"))
			if err != nil || !r.Accepted() {
				t.Fatalf("review = %+v, %v; want accepted", r, err)
			}
		})
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
