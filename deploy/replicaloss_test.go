package deploy_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/topology"
)

// Replica loss: the load and the kills, in seconds from the load's start.
const (
	lossUsers = 6
	// lossThink is each client's pause between sign-ins: 6 clients then
	// start about 4 sign-ins a second, under the account's 600 a minute.
	lossThink        = time.Second
	lossKillAPIAt    = 6 * time.Second
	lossKillWorkerAt = 18 * time.Second
	lossKillTemporal = 30 * time.Second
	lossDownFor      = 2 * time.Second
	// lossTemporalDown outlasts the API's 15 s bound on a call to
	// Temporal: starts and codes submitted meanwhile must be answered 503
	// JSON at the bound, not hang.
	lossTemporalDown  = 17 * time.Second
	lossLoadAfterLast = 15 * time.Second
	// lossAttemptLimit is how long one sign-in may take before it counts
	// as lost.
	lossAttemptLimit = 60 * time.Second
	// lossExcuse is how long after a process answers again its outage
	// may still show as a 503 (a client's retry in flight).
	lossExcuse = 5 * time.Second
)

// lossEvent is one kill -9 and the restart after it.
type lossEvent struct {
	name                string
	killed, healthy     time.Time
	firstSignIn         time.Duration // kill to the first sign-in started after it that ended authenticated
	firstSignInAnyStart time.Duration // kill to the first authenticated sign-in
}

// TestReplicaLoss signs users in without pause through both API replicas
// (lossUsers clients in a closed loop, each sign-in a new user: start, the
// mailed link confirmed or code entered, checks until final), while one
// API replica, one worker replica and then the Temporal server are killed
// with SIGKILL and started again. Every sign-in started must end in a
// final state its check answers (authenticated, or a clean security error
// or expired), none twice; 5xx answers may come only while a process is
// down, and then as 503 with a JSON body; no request may go unanswered.
func TestReplicaLoss(t *testing.T) {
	n := startNative(t)
	rec := &recorder{}
	var (
		mu       sync.Mutex
		outcomes []outcome
		wg       sync.WaitGroup
	)
	load, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	loadStart := time.Now()
	for u := range lossUsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Two of the six confirm links (the browser's per-IP limit
			// is 1/s a replica), the others enter codes.
			method := "pin"
			if u%3 == 0 {
				method = "passwordless"
			}
			for i := 0; load.Err() == nil; i++ {
				authid := fmt.Sprintf("load-%d-%d", u, i)
				api := (u + i) % 2
				if err := n.addUserVia(rec, &api, authid, method); err != nil {
					mu.Lock()
					outcomes = append(outcomes, outcome{authid: authid, err: err})
					mu.Unlock()
					continue
				}
				o := n.signIn(rec, authid, method, api, time.Now().Add(lossAttemptLimit))
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				time.Sleep(lossThink)
			}
		}()
	}

	at := func(d time.Duration) { time.Sleep(time.Until(loadStart.Add(d))) }
	var events []*lossEvent
	kill := func(name string, down time.Duration, kill func() error, restart func() error) {
		e := &lossEvent{name: name, killed: time.Now()}
		events = append(events, e)
		if err := kill(); err != nil {
			t.Fatalf("kill %s: %v", name, err)
		}
		time.Sleep(down)
		if err := restart(); err != nil {
			t.Fatalf("restart %s: %v", name, err)
		}
		e.healthy = time.Now()
		t.Logf("%s killed at +%.1fs, healthy again after %.1fs", name, e.killed.Sub(loadStart).Seconds(), e.healthy.Sub(e.killed).Seconds())
	}
	restartService := func(s *topology.Service) func() error {
		return func() error {
			if err := s.Start(); err != nil {
				return err
			}
			return s.WaitHealthy(time.Minute)
		}
	}
	at(lossKillAPIAt)
	kill("api-1", lossDownFor, n.apis[0].Kill, restartService(n.apis[0]))
	at(lossKillWorkerAt)
	kill("worker-1", lossDownFor, n.workers[0].Kill, restartService(n.workers[0]))
	at(lossKillTemporal)
	kill("temporal", lossTemporalDown, n.temporal.Kill, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return n.temporal.Restart(ctx)
	})
	time.Sleep(lossLoadAfterLast)
	stopLoad()
	loadEnd := time.Now()
	wg.Wait()

	// What became of each sign-in started.
	var started, authenticated, refusedFinal, lost, doubled, notStarted, dupDeliveries, multiMessages, auditMismatch int
	finals := map[string]int{}
	notStartedWhy := map[string]int{}
	var completions []time.Time
	for _, o := range outcomes {
		if o.attempt == "" {
			notStarted++
			why := fmt.Sprint(o.err)
			notStartedWhy[why[:min(len(why), 60)]]++
			continue
		}
		started++
		switch o.final {
		case "authenticated":
			authenticated++
			completions = append(completions, o.ended)
		case "":
			lost++
			t.Errorf("lost: %s (%s) started at +%.1fs: %v", o.attempt, o.method, o.started.Sub(loadStart).Seconds(), o.err)
		default:
			refusedFinal++
		}
		finals[o.final]++
		if o.doubled {
			doubled++
			t.Errorf("authenticated twice: %s's link confirmed again", o.attempt)
		}
		// Exactly one message per sign-in: a retried delivery carries
		// the same Message-ID (receivers drop it); two IDs are two
		// messages.
		msgs := n.mail.To(o.authid + "@example.com")
		ids := map[string]bool{}
		for _, m := range msgs {
			ids[m.MessageID] = true
		}
		if len(ids) != 1 {
			multiMessages++
			t.Errorf("%s: %d distinct messages, want 1", o.attempt, len(ids))
		}
		dupDeliveries += len(msgs) - len(ids)
		// The audit trail agrees with the final state the check gave.
		c, err := n.authenticatedEvents(rec, o.attempt)
		want := 0
		if o.final == "authenticated" {
			want = 1
		}
		if err != nil || c != want {
			auditMismatch++
			t.Errorf("%s ended %q but has %d attempt.authenticated events (%v)", o.attempt, o.final, c, err)
		}
	}

	// 5xx only while a process was down, and then 503 JSON.
	codes := map[int]int{}
	var unexcused []string
	for _, f := range rec.fiveXX {
		codes[f.status]++
		excused := slices.ContainsFunc(events, func(e *lossEvent) bool {
			return !f.at.Before(e.killed) && !f.at.After(e.healthy.Add(lossExcuse))
		})
		// The link page is a page a person's browser shows: its 503 is
		// HTML; every API answer is JSON.
		page := strings.HasPrefix(f.path, "/l/")
		path := f.path
		if page {
			path = "/l/<token>" // the token is a secret: not in the log
		}
		if f.status != 503 || (!f.json && !page) || !excused {
			unexcused = append(unexcused, fmt.Sprintf("%d json=%v %s on api-%d at +%.1fs", f.status, f.json, path, f.api+1, f.at.Sub(loadStart).Seconds()))
		}
	}
	if len(unexcused) > 0 {
		t.Errorf("5xx answers outside an outage or not 503 JSON: %v", unexcused)
	}
	if codes[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no 503 while Temporal was down for %v: the API should answer 503 once its 15 s bound passes", lossTemporalDown)
	}
	if len(rec.timeouts) > 0 {
		t.Errorf("requests left unanswered for 20 s: %v", rec.timeouts)
	}

	// Unavailability: the longest time without a sign-in completing, and
	// per kill how long until one started after it completed.
	sort.Slice(completions, func(i, j int) bool { return completions[i].Before(completions[j]) })
	longest, prev := time.Duration(0), loadStart
	for _, c := range completions {
		if c.After(loadEnd) {
			break
		}
		longest = max(longest, c.Sub(prev))
		prev = c
	}
	var perKill []string
	for _, e := range events {
		e.firstSignIn, e.firstSignInAnyStart = -1, -1
		for _, o := range outcomes {
			if o.final != "authenticated" {
				continue
			}
			if o.ended.After(e.killed) && (e.firstSignInAnyStart < 0 || o.ended.Sub(e.killed) < e.firstSignInAnyStart) {
				e.firstSignInAnyStart = o.ended.Sub(e.killed)
			}
			if !o.started.Before(e.killed) && (e.firstSignIn < 0 || o.ended.Sub(e.killed) < e.firstSignIn) {
				e.firstSignIn = o.ended.Sub(e.killed)
			}
		}
		perKill = append(perKill, fmt.Sprintf("%s down %.1fs, next sign-in completed +%.1fs, first started after the kill completed +%.1fs",
			e.name, e.healthy.Sub(e.killed).Seconds(), e.firstSignInAnyStart.Seconds(), e.firstSignIn.Seconds()))
	}
	t.Logf("replica loss: %d sign-ins started over %.0fs with %d clients: %d authenticated, %d refused (%v), %d lost, %d authenticated twice, %d with more than one message (%d redeliveries), %d audit mismatches; %d starts not started %v; 5xx: %d %v; refused connections: %d; 429: %d; slowest answer: %.1fs (%s); longest time without a completed sign-in: %.1fs; %s",
		started, loadEnd.Sub(loadStart).Seconds(), lossUsers, authenticated, refusedFinal, finals, lost, doubled, multiMessages, dupDeliveries, auditMismatch,
		notStarted, notStartedWhy, len(rec.fiveXX), codes, rec.refused, rec.tooMany, rec.slowest.Seconds(), rec.slowestPath, longest.Seconds(), strings.Join(perKill, "; "))
	if started < 20 || authenticated == 0 {
		t.Errorf("too little load to judge: %d started, %d authenticated", started, authenticated)
	}
}

// addUserVia is addUser for the load's goroutines: errors are returned.
func (n *native) addUserVia(rec *recorder, api *int, authid, method string) error {
	deadline := time.Now().Add(30 * time.Second)
	a, err := n.jsonCall(rec, api, "POST", "/v1/admin/users", n.adminKey, map[string]any{
		"authid": authid, "name": "User " + authid, "email": authid + "@example.com",
	}, deadline)
	if err != nil || (a.status != 201 && a.status != 409) { // 409: a retry after a replica died having created it
		return fmt.Errorf("create user: %d %s %w", a.status, a.body, err)
	}
	a, err = n.jsonCall(rec, api, "PUT", "/v1/admin/users/"+authid+"/systems", n.adminKey, map[string]any{
		"assignments": []map[string]any{{"system": "shop", "method": method}},
	}, deadline)
	if err != nil || a.status != 200 {
		return fmt.Errorf("assign user: %d %s %w", a.status, a.body, err)
	}
	return nil
}
