package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ReviewChildEnv is set in the environment of every process a Reviewer
// starts. A binary that may review policies checks it first thing (in main,
// or in TestMain for a test binary) and, when it is set, serves one review
// with [ServeReviewChild] and exits.
const ReviewChildEnv = "FLEXAUTH_POLICY_REVIEW_CHILD"

// Defaults of ReviewerConfig.
const (
	DefaultReviewMemory     = 512 << 20
	DefaultReviewCPU        = 10 * time.Second
	DefaultReviewTimeout    = 20 * time.Second
	DefaultReviewConcurrent = 2
	DefaultReviewWait       = 5 * time.Second
)

// The limits a review can exceed, as Review.Limit names them.
const (
	LimitMemory = "memory"
	LimitTime   = "time"
)

// Bounds on what a child exchanges with the API process, so that the API's
// own memory does not grow with what a policy makes its review print.
const (
	maxReviewInput  = 4 << 20 // the policy and its tests, JSON-encoded
	maxReviewOutput = 8 << 20 // the review: problems and test results
	maxReviewStderr = 16 << 10
)

// ErrReviewBusy is returned when every review slot stayed taken for the
// whole wait: the caller should try again later.
var ErrReviewBusy = errors.New("too many policy reviews at once")

// ReviewerConfig says how a Reviewer runs reviews. Zero values take the
// defaults.
type ReviewerConfig struct {
	// Command starts the review child: an executable and its arguments.
	// Default: this process's own executable with `policy review-child`
	// (the hidden flexauth subcommand). The child is also given
	// ReviewChildEnv, which is how a test binary's TestMain knows to serve.
	Command []string
	// Env is added to the child's environment, which is otherwise empty
	// apart from ReviewChildEnv and the Go runtime's limits: nothing of the
	// API's own (master key, database URL) reaches code an account wrote.
	Env []string
	// Memory bounds the child's data (heap) in bytes; default 512 MiB.
	// The flexauth binary itself needs about 150 MiB of it to start.
	Memory int64
	// CPU bounds the child's processor time; default 10s. Whole seconds,
	// rounded up.
	CPU time.Duration
	// Timeout bounds a review's wall-clock time, after which the child is
	// killed; default 20s.
	Timeout time.Duration
	// Concurrent is how many reviews may run at once; default 2. Wait is
	// how long a further review waits for one of them to finish before
	// ErrReviewBusy; default 5s.
	Concurrent int
	Wait       time.Duration
}

// Reviewer runs ReviewUpload on an uploaded policy in a child process with
// a memory, CPU time and wall-clock limit, a bounded number at a time. A
// policy is code from an account administrator: Rego built-ins can build
// gigabytes in a single call that no context cancellation interrupts, so
// only a process of its own can be stopped from growing, and it must be
// one that holds no secrets. It is safe for concurrent use.
type Reviewer struct {
	cfg   ReviewerConfig
	err   error // why no child can be started (own executable not found)
	slots chan struct{}
}

// NewReviewer returns a reviewer with cfg, defaults filled in.
func NewReviewer(cfg ReviewerConfig) *Reviewer {
	r := &Reviewer{}
	if len(cfg.Command) == 0 {
		self, err := os.Executable()
		if err != nil {
			r.err = fmt.Errorf("find own executable for policy reviews: %w", err)
		}
		cfg.Command = []string{self, "policy", "review-child"}
	}
	if cfg.Memory <= 0 {
		cfg.Memory = DefaultReviewMemory
	}
	if cfg.CPU <= 0 {
		cfg.CPU = DefaultReviewCPU
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultReviewTimeout
	}
	if cfg.Concurrent <= 0 {
		cfg.Concurrent = DefaultReviewConcurrent
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultReviewWait
	}
	r.cfg = cfg
	r.slots = make(chan struct{}, cfg.Concurrent)
	return r
}

// RetryAfter is how long a caller refused with ErrReviewBusy should wait:
// the longest a running review can keep its slot.
func (r *Reviewer) RetryAfter() time.Duration { return r.cfg.Timeout }

// Review compiles an uploaded policy and runs its tests in a child process,
// as ReviewUpload does in this one. A policy whose review exceeds a limit
// is refused: Review.Limit says which (LimitMemory, LimitTime) and
// Review.Refusal says so in words; one whose review crashes the child is
// refused too. Only a policy the child reviewed to the end and accepted is
// accepted.
//
// The error is for a review that could not be done: ErrReviewBusy when no
// slot freed up in time, the context's error when the caller gave up, or a
// child that could not be started or answered nonsense.
func (r *Reviewer) Review(ctx context.Context, rego, tests string) (Review, error) {
	if r.err != nil {
		return Review{}, r.err
	}
	if os.Getenv(ReviewChildEnv) != "" {
		// A child that started reviews of its own would escape its
		// parent's bound on concurrency (and a misrouted test binary
		// would recurse).
		return Review{}, errors.New("review policy: a review child does not start reviews")
	}
	wait := time.NewTimer(r.cfg.Wait)
	defer wait.Stop()
	select {
	case r.slots <- struct{}{}:
	case <-wait.C:
		return Review{}, ErrReviewBusy
	case <-ctx.Done():
		return Review{}, fmt.Errorf("review policy: %w", ctx.Err())
	}
	defer func() { <-r.slots }()
	return r.run(ctx, rego, tests)
}

// errWallClock is the cause of a review's context when the review ran out
// of time, as opposed to its caller giving up.
var errWallClock = errors.New("policy review ran out of time")

func (r *Reviewer) run(ctx context.Context, rego, tests string) (Review, error) {
	in, err := json.Marshal(reviewRequest{Rego: rego, Tests: tests})
	if err != nil {
		return Review{}, fmt.Errorf("encode policy review request: %w", err)
	}
	if len(in) > maxReviewInput {
		return Review{Refusal: fmt.Sprintf("the policy and its tests are larger than %d bytes", maxReviewInput)}, nil
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, errWallClock)
	defer cancel()
	cmd := exec.CommandContext(runCtx, r.cfg.Command[0], r.cfg.Command[1:]...)
	cmd.Env = r.env()
	// Output the child keeps writing after a kill must not hold Wait up.
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Review{}, fmt.Errorf("start policy review: %w", err)
	}
	stdout := &cappedBuffer{max: maxReviewOutput}
	stderr := &cappedBuffer{max: maxReviewStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return Review{}, fmt.Errorf("start policy review %s: %w", r.cfg.Command[0], err)
	}
	// The limits are set on the child before a byte of the upload reaches
	// it: see limitChild for why from here rather than inside the child.
	if err := limitChild(cmd.Process.Pid, r.cfg); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return Review{}, fmt.Errorf("limit policy review process: %w", err)
	}
	go func() {
		// A child that dies early closes its end: the write fails and
		// Wait says why the child ended.
		_, _ = stdin.Write(in)
		_ = stdin.Close()
	}()
	waitErr := cmd.Wait()
	usage := usageOf(cmd.ProcessState)

	switch {
	case ctx.Err() != nil:
		return Review{}, fmt.Errorf("review policy: %w", ctx.Err())
	case waitErr == nil && !stdout.overflow:
		var w reviewWire
		if err := json.Unmarshal(stdout.Bytes(), &w); err != nil {
			return Review{}, fmt.Errorf("read policy review result: %w", err)
		}
		review := w.review()
		review.Usage = usage
		return review, nil
	case errors.Is(context.Cause(runCtx), errWallClock):
		return limited(LimitTime, usage, "the policy review took longer than %s and was stopped", r.cfg.Timeout), nil
	case stdout.overflow:
		return Review{Refusal: fmt.Sprintf("the review's result (problems, test results) is larger than %d bytes", maxReviewOutput), Usage: usage}, nil
	case killedForCPU(cmd.ProcessState, usage, r.cfg.CPU):
		return limited(LimitTime, usage, "the policy review used more than %s of CPU time and was stopped", cpuSeconds(r.cfg.CPU)), nil
	case outOfMemory(stderr.String()):
		return limited(LimitMemory, usage, "the policy review needed more than %d MiB of memory and was stopped", r.cfg.Memory>>20), nil
	}
	if line := crashLine(stderr.String()); line != "" {
		// The Go runtime gave up on the child (a panic, a stack
		// overflow): the upload is what it was running.
		return Review{Refusal: "the policy review stopped unexpectedly: " + line, Usage: usage}, nil
	}
	return Review{}, fmt.Errorf("policy review process: %w: %s", waitErr, strings.TrimSpace(stderr.String()))
}

// env is the child's whole environment. GOMAXPROCS=1 keeps a review to one
// processor, so that the API's requests keep the others; GOMEMLIMIT makes
// the child's garbage collector work harder before it meets the hard limit,
// so that a policy that fits is not refused for garbage.
func (r *Reviewer) env() []string {
	env := []string{
		ReviewChildEnv + "=1",
		"GOMAXPROCS=1",
		"GOMEMLIMIT=" + strconv.FormatInt(r.cfg.Memory/4*3, 10),
	}
	return append(env, r.cfg.Env...)
}

func limited(limit string, usage ReviewUsage, format string, args ...any) Review {
	return Review{Refusal: fmt.Sprintf(format, args...), Limit: limit, Usage: usage}
}

// cpuSeconds is the CPU limit as the kernel applies it: whole seconds, at
// least one.
func cpuSeconds(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	return max(s, 1) * time.Second
}

// outOfMemory reports whether the Go runtime's last words say an
// allocation was refused: RLIMIT_DATA makes the child's mmap fail, which
// the runtime reports as "out of memory", or, when the stack of a new
// thread could not be mapped, as a failed pthread_create (cgo) or "cannot
// allocate memory".
func outOfMemory(stderr string) bool {
	for _, s := range []string{"out of memory", "cannot allocate memory", "pthread_create failed"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// crashLine is the Go runtime's first line about why the child died.
func crashLine(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "runtime:") {
			return line
		}
	}
	return ""
}

// cappedBuffer keeps the first max bytes written to it and says whether
// more came; the rest is dropped, so that the child never blocks on a full
// pipe and its exit status stays its own.
type cappedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
