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
	if err := st.setUp(ctx, "bench", 5*time.Minute, "bench", users); err != nil {
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
	first, last, err := measureWindow(ctx, st, rec)
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

// measureWindow waits for the window, taking the snapshots at its ends.
func measureWindow(ctx context.Context, st *stack, rec *recorder) (first, last snapshot, err error) {
	sleepUntil := func(t time.Time) error {
		select {
		case <-time.After(time.Until(t)):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := sleepUntil(rec.from); err != nil {
		return first, last, err
	}
	if first, err = st.snapshot(ctx); err != nil {
		return first, last, err
	}
	if err := sleepUntil(rec.to); err != nil {
		return first, last, err
	}
	last, err = st.snapshot(ctx)
	return first, last, err
}

// spread picks up to n of s, evenly spaced.
func spread(s []string, n int) []string {
	if len(s) <= n {
		return slices.Clone(s)
	}
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, s[i*len(s)/n])
	}
	return out
}

// runCheck leaves cfg.pending attempts pending, one per user, and polls
// check at cfg.rate a second, open loop, round the attempts.
func runCheck(ctx context.Context, cfg config, st *stack, logf func(string, ...any)) (*report, error) {
	if err := st.setUp(ctx, "pending", time.Hour, "pending", cfg.pending); err != nil {
		return nil, err
	}
	logf("%d users set up; starting an attempt for each", cfg.pending)
	c := newClient(st.appKey, 1024)
	delivered := st.mail.received()
	attempts := make([]string, cfg.pending)
	next := atomic.Int64{}
	var startErrs atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	for range max(cfg.concurrency, 16) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.pending || ctx.Err() != nil {
					return
				}
				a, err := c.post(ctx, st.apis[i%len(st.apis)]+"/v1/start", map[string]any{"system": "pending", "authid": fmt.Sprintf("pending-%d", i)})
				if err != nil || a.status != http.StatusOK {
					startErrs.Add(1)
					continue
				}
				attempts[i] = a.Attempt
				if (i+1)%1000 == 0 {
					logf("%d started", i+1)
				}
			}
		})
	}
	wg.Wait()
	attempts = slices.DeleteFunc(attempts, func(a string) bool { return a == "" })
	if len(attempts) == 0 {
		return nil, fmt.Errorf("no attempt started (%d errors)", startErrs.Load())
	}
	// The deliveries are done before the polls, so that their CPU does not
	// count with the polls'.
	for deadline := time.Now().Add(2 * time.Minute); delivered >= 0 && st.mail.received() < delivered+len(attempts) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	logf("%d attempts pending (%d starts failed) after %v; %v warm-up, then %v of %.0f polls/s",
		len(attempts), startErrs.Load(), time.Since(began).Round(time.Second), cfg.warmup, cfg.duration, cfg.rate)

	t0 := time.Now()
	rec := newRecorder(t0.Add(cfg.warmup), t0.Add(cfg.warmup+cfg.duration))
	type window struct {
		first, last snapshot
		err         error
	}
	measured := make(chan window, 1)
	go func() {
		var w window
		w.first, w.last, w.err = measureWindow(ctx, st, rec)
		measured <- w
	}()
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
		k := i % len(attempts)
		polls.Go(func() {
			defer func() { <-sem }()
			sent := time.Now()
			a, err := c.post(ctx, st.apis[k%len(st.apis)]+"/v1/check", map[string]any{
				"system": "pending", "authid": fmt.Sprintf("pending-%d", k), "attempt": attempts[k],
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
	w := <-measured
	polls.Wait()
	if w.err != nil {
		return nil, w.err
	}
	rep := newReport(cfg, st, rec, w.first, w.last)
	rep.Pending = len(attempts)
	rep.TargetRate = cfg.rate
	rep.AchievedRate = float64(rec.completed) / w.last.at.Sub(w.first.at).Seconds()
	rep.perOperation(rec.completed, "poll")
	return rep, nil
}
