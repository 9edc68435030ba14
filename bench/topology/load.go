package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flexauth/flexauth/attempt"
)

// waitLimit bounds each step of a sign-in: an answer, a message, the
// final state.
const waitLimit = 30 * time.Second

// recorder keeps the samples of the measured window: what started and
// ended in it.
type recorder struct {
	from, to time.Time

	mu        sync.Mutex
	start     []time.Duration
	check     []time.Duration
	signIn    []time.Duration
	completed int
	attempts  []string // completed sign-ins, for the history sample
	errors    map[string]int
	examples  []string
}

func newRecorder(from, to time.Time) *recorder {
	return &recorder{from: from, to: to, errors: map[string]int{}}
}

func (r *recorder) in(t time.Time) bool { return !t.Before(r.from) && !t.After(r.to) }

// fail counts an error of kind, in the window only, and keeps the detail
// of the first of each of a few kinds.
func (r *recorder) fail(at time.Time, kind, detail string) {
	if !r.in(at) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[kind]++
	if r.errors[kind] == 1 && detail != "" && len(r.examples) < 5 {
		r.examples = append(r.examples, kind+": "+detail)
	}
}

// client calls the app API.
type client struct {
	http   *http.Client
	appKey string
}

func newClient(appKey string, conns int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	return &client{http: &http.Client{Timeout: waitLimit, Transport: tr}, appKey: appKey}
}

// answer is an app API answer.
type answer struct {
	status  int
	Result  string `json:"result"`
	Attempt string `json:"attempt"`
	Method  string `json:"method"`
	body    string
}

func (c *client) post(ctx context.Context, url string, body any) (answer, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("apikey", c.appKey)
	res, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: res.StatusCode, body: string(out)}
	_ = json.Unmarshal(out, &a)
	return a, nil
}

// failure is a sign-in step that went wrong: kind is counted, detail
// shown as an example.
type failure struct{ kind, detail string }

func (f *failure) Error() string { return f.kind + ": " + f.detail }

// signIn is one whole sign-in: start, the message, the code submitted
// with check, checks until authenticated.
func (c *client) signIn(ctx context.Context, rec *recorder, mail mailbox, api, system, authid string) error {
	subject := map[string]any{"system": system, "authid": authid}
	mark := mail.mark(email(authid))
	t0 := time.Now()
	a, err := c.post(ctx, api+"/v1/start", subject)
	end := time.Now()
	switch {
	case err != nil:
		return &failure{"start: no answer", err.Error()}
	case a.status != http.StatusOK || a.Attempt == "":
		return &failure{fmt.Sprintf("start: %d %s", a.status, a.Result), a.body}
	}
	if rec.in(end) {
		rec.mu.Lock()
		rec.start = append(rec.start, end.Sub(t0))
		rec.mu.Unlock()
	}
	attempt := a.Attempt
	subject["attempt"] = attempt

	wait, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	code, err := mail.code(wait, email(authid), attempt, mark)
	if err != nil {
		return &failure{"no message", err.Error()}
	}
	subject["pin"] = code
	var checks []time.Duration
	for {
		t := time.Now()
		a, err := c.post(ctx, api+"/v1/check", subject)
		checks = append(checks, time.Since(t))
		delete(subject, "pin") // submitted once; then polls
		switch {
		case err != nil:
			return &failure{"check: no answer", err.Error()}
		case a.status == http.StatusOK && a.Result == "authenticated":
			ended := time.Now()
			if rec.in(ended) {
				rec.mu.Lock()
				rec.completed++
				rec.signIn = append(rec.signIn, ended.Sub(t0))
				rec.check = append(rec.check, checks...)
				rec.attempts = append(rec.attempts, attempt)
				rec.mu.Unlock()
			}
			return nil
		case a.status != http.StatusAccepted:
			return &failure{fmt.Sprintf("check: %d %s", a.status, a.Result), a.body}
		case wait.Err() != nil:
			return &failure{"check: still pending", "no final state in " + waitLimit.String()}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runSignIns runs the closed loop: cfg.concurrency clients, each signing
// in its own users in turn, through the API replicas alternately.
func runSignIns(ctx context.Context, cfg config, st *stack, logf func(string, ...any)) (*report, error) {
	users := max(cfg.users, cfg.concurrency)
	if err := st.setUp(ctx, "bench", cfg.ttl, "bench", users, methodPIN); err != nil {
		return nil, err
	}
	logf("%d users set up; %v warm-up, then %v measured, %d in flight", users, cfg.warmup, cfg.duration, cfg.concurrency)
	c := newClient(st.appKey, 2*cfg.concurrency+8)
	began := time.Now()
	rec := newRecorder(began.Add(cfg.warmup), began.Add(cfg.warmup+cfg.duration))
	perClient := users / cfg.concurrency

	load, cancel := context.WithCancel(ctx)
	defer cancel()
	var stopping atomic.Bool
	var wg sync.WaitGroup
	if cfg.signInRate > 0 {
		// Open loop: sign-ins start at the asked rate whatever the answers'
		// latency, as independent users arrive; a user comes back only
		// after `users` others, long after their last sign-in ended.
		wg.Go(func() {
			const maxInFlight = 1024
			var inFlight atomic.Int64
			every := time.Duration(float64(time.Second) / cfg.signInRate)
			next := time.Now()
			for k := 0; !stopping.Load() && load.Err() == nil; k++ {
				next = next.Add(every)
				time.Sleep(time.Until(next))
				if inFlight.Load() >= maxInFlight {
					rec.fail(time.Now(), fmt.Sprintf("sign-in not started: client has %d in flight", maxInFlight), "")
					continue
				}
				authid := fmt.Sprintf("bench-%d", k%users)
				api := st.apis[k%len(st.apis)]
				inFlight.Add(1)
				wg.Go(func() {
					defer inFlight.Add(-1)
					if err := c.signIn(load, rec, st.mail, api, "bench", authid); err != nil {
						var f *failure
						if !errors.As(err, &f) {
							f = &failure{"other", err.Error()}
						}
						rec.fail(time.Now(), f.kind, f.detail)
					}
				})
			}
		})
	}
	closedLoop := cfg.concurrency
	if cfg.signInRate > 0 {
		closedLoop = 0
	}
	for w := range closedLoop {
		wg.Go(func() {
			for k := 0; !stopping.Load() && load.Err() == nil; k++ {
				authid := fmt.Sprintf("bench-%d", w+cfg.concurrency*(k%perClient))
				api := st.apis[(w+k)%len(st.apis)]
				if err := c.signIn(load, rec, st.mail, api, "bench", authid); err != nil {
					var f *failure
					if !errors.As(err, &f) {
						f = &failure{"other", err.Error()}
					}
					rec.fail(time.Now(), f.kind, f.detail)
				}
			}
		})
	}
	first, last, peaks, err := measureWindow(ctx, st, rec)
	stopping.Store(true)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitLimit + 5*time.Second):
		cancel()
		<-done
	}
	if err != nil {
		return nil, err
	}

	rep := newReport(cfg, st, rec, first, last)
	rep.PeakRSSMiB = map[string]map[string]float64{"measured": mib(peaks)}
	rep.SignInsPerSecond = float64(rec.completed) / last.at.Sub(first.at).Seconds()
	rep.perOperation(rec.completed, "sign-in")
	sample := spread(rec.attempts, cfg.historySample)
	if avg, n, err := st.historyEvents(ctx, sample); err != nil {
		logf("history events not counted: %v", err)
	} else if n > 0 {
		rep.HistoryEventsPerSignIn, rep.HistorySampled = &avg, n
	}
	return rep, nil
}

// measureWindow waits for the window, taking the snapshots at its ends
// and the peak memory in it.
func measureWindow(ctx context.Context, st *stack, rec *recorder) (first, last snapshot, peaks map[string]int64, err error) {
	sleepUntil := func(t time.Time) error {
		select {
		case <-time.After(time.Until(t)):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := sleepUntil(rec.from); err != nil {
		return first, last, nil, err
	}
	if first, err = st.snapshot(ctx); err != nil {
		return first, last, nil, err
	}
	watch := st.watchPeaks()
	profiled := st.profile(ctx, rec.to.Sub(rec.from))
	err = sleepUntil(rec.to)
	peaks = watch.end()
	if err != nil {
		return first, last, peaks, err
	}
	last, err = st.snapshot(ctx)
	if perr := profiled(); err == nil {
		err = perr
	}
	return first, last, peaks, err
}

// spread picks up to n of s, evenly spaced.
func spread[T any](s []T, n int) []T {
	if len(s) <= n {
		return slices.Clone(s)
	}
	out := make([]T, 0, n)
	for i := range n {
		out = append(out, s[i*len(s)/n])
	}
	return out
}

// runCheck leaves cfg.pending attempts pending, one per user, and polls
// check at cfg.rate a second, open loop, round the attempts. While the
// attempts are created it samples every component's memory at each
// step of pending attempts (see memoryStep).
func runCheck(ctx context.Context, cfg config, st *stack, logf func(string, ...any)) (*report, error) {
	// A system and users of their own per method: a stack can run both.
	sys := "pending-" + cfg.method
	if err := st.setUp(ctx, sys, time.Hour, sys, cfg.pending, cfg.method); err != nil {
		return nil, err
	}
	var enrolled time.Duration
	var enrolledAt time.Time
	var seeds []string
	if cfg.method == methodTOTP {
		logf("%d users set up; enrolling each in TOTP", cfg.pending)
		began := time.Now()
		var err error
		if seeds, err = st.enrolTOTP(ctx, sys, cfg.pending, max(cfg.concurrency, 16), logf); err != nil {
			return nil, err
		}
		enrolledAt = time.Now()
		enrolled = enrolledAt.Sub(began)
		logf("%d users enrolled in %v", cfg.pending, enrolled.Round(time.Second))
	}
	logf("%d users set up; starting an attempt for each", cfg.pending)
	c := newClient(st.appKey, 1024)
	delivered := st.mail.received()
	p, err := startPending(ctx, cfg, st, c, sys, logf)
	if err != nil {
		return nil, err
	}
	attempts, steps, created := p.attempts, p.steps, p.created
	// The users with an attempt, polled in turn.
	var users []int
	for i, a := range attempts {
		if a != "" {
			users = append(users, i)
		}
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("no attempt started (%d errors)", p.startErrs)
	}
	if len(p.otherMethods) > 0 {
		return nil, fmt.Errorf("the policy chose other methods than %s: %v", cfg.method, p.otherMethods)
	}
	// The deliveries are done before the polls, so that their CPU does not
	// count with the polls'.
	for deadline := time.Now().Add(2 * time.Minute); cfg.method == methodPIN && delivered >= 0 && st.mail.received() < delivered+len(users) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	logf("%d %s attempts pending (%d starts failed) after %v; %v warm-up, then %v of %.0f polls/s",
		len(users), cfg.method, p.startErrs, created.Round(time.Second), cfg.warmup, cfg.duration, cfg.rate)

	t0 := time.Now()
	rec := newRecorder(t0.Add(cfg.warmup), t0.Add(cfg.warmup+cfg.duration))
	type window struct {
		first, last snapshot
		peaks       map[string]int64
		err         error
	}
	measured := make(chan window, 1)
	go func() {
		var w window
		w.first, w.last, w.peaks, w.err = measureWindow(ctx, st, rec)
		measured <- w
	}()
	polls := pollPending(ctx, cfg, st, c, rec, t0, sys, users, attempts)
	w := <-measured
	polls.Wait()
	if w.err != nil {
		return nil, w.err
	}
	rep := newReport(cfg, st, rec, w.first, w.last)
	rep.Pending = len(users)
	rep.Method = cfg.method
	if enrolled > 0 {
		s := enrolled.Seconds()
		rep.EnrolmentSeconds = &s
	}
	rep.CreationSeconds = created.Seconds()
	rep.StartsPerSecond = float64(len(users)) / created.Seconds()
	rep.StartErrors = p.startErrs
	slices.SortFunc(steps, func(a, b rssStep) int { return a.Pending - b.Pending })
	rep.RSSByPending = steps
	rep.PeakRSSMiB = map[string]map[string]float64{"creation": mib(p.peaks), "measured": mib(w.peaks)}
	// What a worker replays to rebuild a pending attempt it no longer
	// holds in its cache.
	var ids []string
	for _, k := range spread(users, cfg.historySample) {
		ids = append(ids, attempts[k])
	}
	if avg, n, err := st.historyEvents(ctx, ids); err != nil {
		logf("history events not counted: %v", err)
	} else if n > 0 {
		rep.HistoryEventsPerPending, rep.HistorySampled = &avg, n
	}
	if seeds != nil {
		rep.SignInsAfter = signInSample(ctx, cfg, st, c, sys, users, attempts, seeds, enrolledAt)
	}
	rep.TargetRate = cfg.rate
	rep.AchievedRate = float64(rec.completed) / w.last.at.Sub(w.first.at).Seconds()
	rep.perOperation(rec.completed, "poll")
	return rep, nil
}

// pendingSet is what startPending made.
type pendingSet struct {
	// attempts[i] is user i's attempt, "" when its start failed.
	attempts     []string
	startErrs    int
	otherMethods map[string]int // methods the policy chose other than cfg.method
	steps        []rssStep      // memory at each memoryStep of pending attempts
	peaks        map[string]int64
	created      time.Duration
}

// startPending starts an attempt for each of cfg.pending users of sys,
// cfg.concurrency (at least 16) at a time, sampling every component's
// memory as they pile up.
func startPending(ctx context.Context, cfg config, st *stack, c *client, sys string, logf func(string, ...any)) (pendingSet, error) {
	p := pendingSet{attempts: make([]string, cfg.pending), otherMethods: map[string]int{}}
	next := atomic.Int64{}
	var started, startErrs atomic.Int64
	var mu sync.Mutex // guards p.otherMethods, p.steps
	step := memoryStep(cfg.pending)
	var wg sync.WaitGroup
	began := time.Now()
	watch := st.watchPeaks()
	for range max(cfg.concurrency, 16) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.pending || ctx.Err() != nil {
					return
				}
				a, err := c.post(ctx, st.apis[i%len(st.apis)]+"/v1/start", map[string]any{"system": sys, "authid": fmt.Sprintf("%s-%d", sys, i)})
				if err != nil || a.status != http.StatusOK {
					if startErrs.Add(1) == 1 {
						logf("first start failed: %v %d %s", err, a.status, a.body)
					}
					continue
				}
				if a.Method != cfg.method {
					// The policy chose otherwise: what is pending is
					// not what was asked for.
					mu.Lock()
					p.otherMethods[a.Method]++
					mu.Unlock()
				}
				p.attempts[i] = a.Attempt
				n := int(started.Add(1))
				if n%step == 0 || n == cfg.pending {
					at := time.Now()
					if t, err := readProcesses(); err == nil {
						mu.Lock()
						p.steps = append(p.steps, rssStep{Pending: n, Seconds: at.Sub(began).Seconds(), MiB: mib(st.memory(t))})
						mu.Unlock()
					}
				}
				if (i+1)%1000 == 0 {
					logf("%d started", i+1)
				}
			}
		})
	}
	wg.Wait()
	p.created = time.Since(began)
	p.peaks = watch.end()
	p.startErrs = int(startErrs.Load())
	return p, ctx.Err()
}

// pollPending polls check for users' attempts in turn, cfg.rate a second
// from t0 until rec's window ends, open loop: a poll is sent when due
// whatever the earlier ones are doing, up to a bound of polls in flight.
// The returned group ends when every poll has.
func pollPending(ctx context.Context, cfg config, st *stack, c *client, rec *recorder, t0 time.Time, sys string, users []int, attempts []string) *sync.WaitGroup {
	const maxInFlight = 4096
	sem := make(chan struct{}, maxInFlight)
	var polls sync.WaitGroup
	for i := 0; ctx.Err() == nil; i++ {
		due := t0.Add(time.Duration(float64(i) * float64(time.Second) / cfg.rate))
		if due.After(rec.to) {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		select {
		case sem <- struct{}{}:
		default:
			rec.fail(time.Now(), "poll not sent: client has "+fmt.Sprint(maxInFlight)+" in flight", "")
			continue
		}
		k := users[i%len(users)]
		polls.Go(func() {
			defer func() { <-sem }()
			sent := time.Now()
			a, err := c.post(ctx, st.apis[k%len(st.apis)]+"/v1/check", map[string]any{
				"system": sys, "authid": fmt.Sprintf("%s-%d", sys, k), "attempt": attempts[k],
			})
			took := time.Since(sent)
			switch {
			case err != nil:
				rec.fail(sent, "check: no answer", err.Error())
			case a.status != http.StatusAccepted:
				rec.fail(sent, fmt.Sprintf("check: %d %s", a.status, a.Result), a.body)
			case rec.in(sent):
				rec.mu.Lock()
				rec.check = append(rec.check, took)
				rec.completed++
				rec.mu.Unlock()
			}
		})
	}
	return &polls
}

// memoryStep is how many attempts apart the memory is sampled while they
// are created: every 5,000 from 50,000 on (10,000, 25,000, 50,000, 75,000
// and 100,000 among them), else every tenth.
func memoryStep(pending int) int {
	if pending >= 50000 {
		return 5000
	}
	return max(1, pending/10)
}

// defaultWorkflowCache is a worker's workflow cache unless -workflow-cache
// says otherwise (cmd/flexauth's default, the Temporal SDK's).
const defaultWorkflowCache = 10000

// signInSample signs in, with the right TOTP code, a sample of the pending
// attempts spread over their creation: those started before the last
// cache-full were evicted from the worker's workflow cache, so their
// workflow is rebuilt from its history on the way. Each must end
// authenticated: an eviction loses nothing.
func signInSample(ctx context.Context, cfg config, st *stack, c *client, sys string, users []int, attempts, seeds []string, enrolledAt time.Time) *sampleSignIns {
	cached := cfg.workflowCache
	if cached == 0 {
		cached = defaultWorkflowCache
	}
	cached *= cfg.workerReplicas
	out := &sampleSignIns{}
	var took, tookEvicted []time.Duration
	positions := make([]int, len(users)) // in creation order
	for i := range positions {
		positions[i] = i
	}
	for _, pos := range spread(positions, cfg.historySample) {
		k := users[pos]
		// A code signs in once, and its time step or an earlier one no
		// more after a later one: within the step of the enrolment's
		// codes, the next step's code (accepted as one step of clock
		// skew) is the one that signs in.
		at := time.Now()
		if at.Unix()/attempt.TOTPPeriod <= enrolledAt.Unix()/attempt.TOTPPeriod {
			at = at.Add(attempt.TOTPPeriod * time.Second)
		}
		code, err := attempt.TOTPCode(seeds[k], at)
		if err != nil {
			out.Failures = append(out.Failures, err.Error())
			continue
		}
		out.Sampled++
		evicted := pos < len(users)-cached
		sent := time.Now()
		a, err := c.post(ctx, st.apis[k%len(st.apis)]+"/v1/check", map[string]any{
			"system": sys, "authid": fmt.Sprintf("%s-%d", sys, k), "attempt": attempts[k], "pin": code,
		})
		if evicted {
			out.Evicted++
			tookEvicted = append(tookEvicted, time.Since(sent))
		} else {
			took = append(took, time.Since(sent))
		}
		switch {
		case err != nil:
			out.Failures = append(out.Failures, err.Error())
		case a.status == http.StatusOK && a.Result == "authenticated":
			out.Authenticated++
		default:
			out.Failures = append(out.Failures, fmt.Sprintf("%d %s", a.status, a.body))
		}
	}
	out.CachedLatencyMS, out.EvictedLatencyMS = percentilesOf(took), percentilesOf(tookEvicted)
	return out
}
