package policies

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile uploads: tests that pass review in no process with sane limits.
var (
	// memoryHogTests builds a new array of 256 members at each of ten
	// billion iterations. No single built-in call builds much (the
	// built-in bounds stop a concat that would: memoryHogBuiltinTests),
	// and tests have no step budget, so only the review process's memory
	// limit stops it.
	memoryHogTests = hostileTests("test_memory", `
	r := numbers.range(1, 100000)
	count([[`+strings.TrimSuffix(strings.Repeat("i, ", 256), ", ")+`] | some i in r; some j in r]) > 0`)
	// memoryHogBuiltinTests would build a 4 GiB string, sixteen-fold at
	// each step; concat refuses to go past MaxBuiltinString.
	memoryHogBuiltinTests = hostileTests("test_memory", `
	a := "0123456789abcdef"
	b := concat("", [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a])
	c := concat("", [b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b])
	d := concat("", [c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c])
	e := concat("", [d, d, d, d, d, d, d, d, d, d, d, d, d, d, d, d])
	f := concat("", [e, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e])
	g := concat("", [f, f, f, f, f, f, f, f, f, f, f, f, f, f, f, f])
	h := concat("", [g, g, g, g, g, g, g, g, g, g, g, g, g, g, g, g])
	count(h) > 0`)
	// busyLoopTests iterates ten billion times in little memory (the
	// range is built once).
	busyLoopTests = hostileTests("test_busy", `
	r := numbers.range(1, 100000)
	count([a | some a in r; some b in r; a == 0 - b]) == 0`)
)

func hostileTests(name, body string) string {
	return "package flexauth.risk_test\n\ntest_wiki_is_open if {\n\tdata.flexauth.risk.decision.allow with input as {\"system\": {\"name\": \"wiki\", \"methods\": [\"pin\"]}, \"subject\": {\"assigned_method\": \"pin\"}}\n}\n\n" +
		name + " if {" + body + "\n}\n"
}

// testReviewer runs reviews in this test binary (see TestMain), with
// limits small enough for tests.
func testReviewer(t testing.TB, cfg ReviewerConfig) *Reviewer {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Command = []string{self}
	if cfg.Memory == 0 {
		cfg.Memory = 256 << 20
	}
	if cfg.CPU == 0 {
		cfg.CPU = 2 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return NewReviewer(cfg)
}

// peakRSS is this process's peak resident memory (VmHWM), in bytes.
func peakRSS(t testing.TB) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kib << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

func TestReviewerGivesReviewUploadsVerdict(t *testing.T) {
	r := testReviewer(t, ReviewerConfig{Concurrent: 4})
	for _, tt := range uploadCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Review(t.Context(), tt.rego, tt.tests)
			if err != nil {
				t.Fatalf("Review: %v", err)
			}
			tt.check(t, got)
			if got.Limit != "" || got.Usage.CPU <= 0 || got.Usage.PeakMemory <= 0 {
				t.Errorf("limit %q, usage %+v; want no limit and the child's usage", got.Limit, got.Usage)
			}
		})
	}
}

func TestReviewerStopsHostilePolicies(t *testing.T) {
	r := testReviewer(t, ReviewerConfig{})
	tests := []struct {
		name    string
		cfg     ReviewerConfig
		tests   string
		limit   string
		refusal string
	}{
		{
			name: "a policy whose tests allocate without bound is stopped at the memory limit", tests: memoryHogTests,
			limit: LimitMemory, refusal: "the policy review needed more than 256 MiB of memory and was stopped",
		},
		{
			name: "a policy whose tests loop is stopped at the CPU time limit", tests: busyLoopTests,
			cfg:   ReviewerConfig{CPU: time.Second, Timeout: time.Minute},
			limit: LimitTime, refusal: "the policy review used more than 1s of CPU time and was stopped",
		},
		{
			name: "a policy whose tests loop is stopped at the wall-clock limit", tests: busyLoopTests,
			cfg:   ReviewerConfig{CPU: time.Minute, Timeout: 1500 * time.Millisecond},
			limit: LimitTime, refusal: "the policy review took longer than 1.5s and was stopped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := r
			if tt.cfg.Timeout != 0 {
				r = testReviewer(t, tt.cfg)
			}
			before := peakRSS(t)
			start := time.Now()
			got, err := r.Review(t.Context(), closedVPN, tt.tests)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Review: %v", err)
			}
			if got.Accepted() || got.Limit != tt.limit || got.Refusal != tt.refusal {
				t.Fatalf("review = %+v; want refused at the %s limit: %q", got, tt.limit, tt.refusal)
			}
			// On a loaded machine a CPU second takes longer than a second.
			if took > 30*time.Second {
				t.Errorf("refused after %s, want within seconds", took)
			}
			grew := peakRSS(t) - before
			t.Logf("refused after %s; child peak %d MiB, CPU %s; this process's peak RSS grew %d MiB",
				took.Round(time.Millisecond), got.Usage.PeakMemory>>20, got.Usage.CPU.Round(time.Millisecond), grew>>20)
			if grew > 32<<20 {
				t.Errorf("this process's peak RSS grew by %d MiB during the review: the policy ran here", grew>>20)
			}
		})
	}
	t.Run("a policy whose tests would build a huge string is refused at the built-in bound", func(t *testing.T) {
		got, err := r.Review(t.Context(), closedVPN, memoryHogBuiltinTests)
		if err != nil {
			t.Fatalf("Review: %v", err)
		}
		if got.Accepted() || got.Limit != "" || !strings.Contains(got.Refusal, "1 of 2 tests failed: test_memory") ||
			len(got.Tests) != 2 || !strings.Contains(got.Tests[0].Error, "concat at policy_test.rego:13: ") ||
			!strings.Contains(got.Tests[0].Error, ErrBuiltinBound.Error()) {
			t.Fatalf("review = %+v; want test_memory to fail at the bound on concat", got)
		}
	})
	t.Run("a good policy still passes afterwards", func(t *testing.T) {
		got, err := r.Review(t.Context(), closedVPN, closedVPNTests)
		if err != nil || !got.Accepted() || len(got.Tests) != 2 {
			t.Fatalf("review = %+v, %v; want accepted with 2 tests", got, err)
		}
	})
}

func TestReviewerBoundsConcurrentReviews(t *testing.T) {
	r := testReviewer(t, ReviewerConfig{Concurrent: 1, Wait: 200 * time.Millisecond, CPU: time.Minute, Timeout: 3 * time.Second})
	var wg sync.WaitGroup
	var slow Review
	wg.Go(func() { slow, _ = r.Review(t.Context(), closedVPN, busyLoopTests) })
	// The slow review holds the only slot for its 3s.
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	_, err := r.Review(t.Context(), closedVPN, closedVPNTests)
	if !errors.Is(err, ErrReviewBusy) {
		t.Fatalf("a review while the only slot is taken: %v, want ErrReviewBusy", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond || waited > 2*time.Second {
		t.Errorf("refused after %s, want after the 200ms wait", waited)
	}
	if r.RetryAfter() != 3*time.Second {
		t.Errorf("RetryAfter = %s, want the review timeout", r.RetryAfter())
	}
	wg.Wait()
	if slow.Limit != LimitTime {
		t.Errorf("slow review = %+v, want stopped at the time limit", slow)
	}
	if got, err := r.Review(t.Context(), closedVPN, closedVPNTests); err != nil || !got.Accepted() {
		t.Fatalf("a review once the slot is free = %+v, %v; want accepted", got, err)
	}
}

func TestReviewerChildIsLimitedAndGetsNoSecrets(t *testing.T) {
	t.Setenv("FLEXAUTH_MASTER_KEY", "secret-master-key")
	t.Setenv("FLEXAUTH_DATABASE_URL", "postgres://secret@db/flexauth")
	r := testReviewer(t, ReviewerConfig{Memory: 300 << 20, CPU: 3 * time.Second, Env: []string{dumpChildEnv + "=1"}})
	got, err := r.Review(t.Context(), closedVPN, closedVPNTests)
	if err != nil {
		t.Fatal(err)
	}
	dump := got.Refusal
	for _, want := range []string{
		ReviewChildEnv + "=1", "GOMAXPROCS=1", "GOMEMLIMIT=" + strconv.Itoa(300<<20/4*3),
		"Max data size             314572800            314572800",
		"Max cpu time              3                    3",
		"Max core file size        0                    0",
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("child's environment and limits lack %q:\n%s", want, dump)
		}
	}
	for _, secret := range []string{"secret-master-key", "FLEXAUTH_DATABASE_URL", "PATH=", "HOME="} {
		if strings.Contains(dump, secret) {
			t.Errorf("child's environment has %q:\n%s", secret, dump)
		}
	}
}

func TestReviewerRefusesToStartWithoutItsChild(t *testing.T) {
	r := NewReviewer(ReviewerConfig{Command: []string{"/nonexistent/flexauth"}})
	if _, err := r.Review(t.Context(), closedVPN, closedVPNTests); err == nil || !strings.Contains(err.Error(), "start policy review") {
		t.Fatalf("Review with a missing executable: %v, want an error starting it", err)
	}
}
