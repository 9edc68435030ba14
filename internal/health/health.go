package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults.
const (
	// CheckTimeout bounds each check: a dependency that hangs makes the
	// process unready, never the probe hang.
	CheckTimeout = 2 * time.Second
	// maxAge is how long a report answers further probes: a flood of
	// probes costs one round of checks a second, and no probe is refused.
	maxAge = time.Second
)

// The words of a report.
const (
	StatusReady       = "ready"
	StatusUnavailable = "unavailable"
	OK                = "ok"
	// CheckShutdown names the condition a draining process fails: it is
	// stopping, whatever its dependencies say.
	CheckShutdown = "shutdown"
	Draining      = "draining"
)

// Check is one readiness condition.
type Check struct {
	Name string // e.g. "store"
	// Failure is the word reported when Run fails or times out, e.g.
	// "unreachable".
	Failure string
	Run     func(ctx context.Context) error
}

// Report is the answer of /readyz.
type Report struct {
	Status string            `json:"status"` // StatusReady or StatusUnavailable
	Checks map[string]string `json:"checks"` // name → OK or the check's Failure
}

// Ready reports whether every check passed.
func (r Report) Ready() bool { return r.Status == StatusReady }

// Readiness runs checks for /readyz. It is safe for concurrent use.
type Readiness struct {
	checks  []Check
	timeout time.Duration
	maxAge  time.Duration
	log     *slog.Logger
	now     func() time.Time

	// mu serialises rounds of checks: concurrent probes wait for the one
	// running (bounded by timeout) and share its report.
	mu      sync.Mutex
	last    Report
	at      time.Time
	failing map[string]bool // the checks whose failure was logged

	// draining is set once the process stops: from then on it is not
	// ready, so that load balancers take it out before it closes.
	draining atomic.Bool
}

// Drain makes every later report unavailable: the process is stopping.
func (r *Readiness) Drain() { r.draining.Store(true) }

// NewReadiness returns the readiness of checks, each bounded by
// CheckTimeout.
func NewReadiness(logger *slog.Logger, checks ...Check) *Readiness {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Readiness{
		checks: checks, timeout: CheckTimeout, maxAge: maxAge, log: logger, now: time.Now,
		failing: map[string]bool{},
	}
}

// Report runs the checks (or returns the report of the last second).
func (r *Readiness) Report(ctx context.Context) Report {
	if r.draining.Load() {
		return Report{Status: StatusUnavailable, Checks: map[string]string{CheckShutdown: Draining}}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.at.IsZero() && r.now().Sub(r.at) < r.maxAge {
		return r.last
	}
	errs := make([]error, len(r.checks))
	var wg sync.WaitGroup
	for i, c := range r.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.run(ctx, c)
		}()
	}
	wg.Wait()
	rep := Report{Status: StatusReady, Checks: make(map[string]string, len(r.checks))}
	for i, c := range r.checks {
		rep.Checks[c.Name] = OK
		if errs[i] != nil {
			rep.Checks[c.Name] = c.Failure
			rep.Status = StatusUnavailable
		}
		// Log changes only: orchestrators probe every few seconds.
		switch {
		case errs[i] != nil && !r.failing[c.Name]:
			r.log.WarnContext(ctx, "readiness check failed", "check", c.Name, "error", errs[i])
		case errs[i] == nil && r.failing[c.Name]:
			r.log.InfoContext(ctx, "readiness check passes again", "check", c.Name)
		}
		r.failing[c.Name] = errs[i] != nil
	}
	r.last, r.at = rep, r.now()
	return rep
}

// run runs one check within the timeout. A check that ignores its context
// is left behind to finish on its own: the probe answers in time. The
// report is shared by the probes of the next second, so one probe going
// away does not cancel its checks.
func (r *Readiness) run(ctx context.Context, c Check) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// A check that panics fails; it does not take the process down.
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("check panicked: %v", v)
			}
		}()
		done <- c.Run(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errors.New("no answer within " + r.timeout.String())
	}
}

// ServeHTTP answers /readyz: 200 and the report when every check passes,
// 503 and the report naming the failing checks otherwise.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rep := r.Report(req.Context())
	status := http.StatusOK
	if !rep.Ready() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rep)
}

// Alive answers /healthz: the process serves HTTP.
func Alive(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": OK})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
