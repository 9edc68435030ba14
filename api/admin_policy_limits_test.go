package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Hostile uploads: the closed-vpn policy, whose tests also do something no
// review can afford.
var (
	// memoryHogTests build a new array of 256 members at each of ten
	// billion iterations: no built-in call builds much (the built-in
	// bounds would stop a concat that did), and tests have no step budget.
	memoryHogTests = closedVPNTests + `
test_memory if {
	r := numbers.range(1, 100000)
	count([[` + strings.TrimSuffix(strings.Repeat("i, ", 256), ", ") + `] | some i in r; some j in r]) > 0
}
`
	// busyLoopTests iterate ten billion times in little memory (the range
	// is built once).
	busyLoopTests = closedVPNTests + `
test_busy if {
	r := numbers.range(1, 100000)
	count([a | some a in r; some b in r; a == 0 - b]) == 0
}
`
	// slowAtSignInPolicy passes its tests, which have no client IP; for
	// any real sign-in it hashes 1 MiB (the most a built-in may build)
	// over and over, 50 GB in all, in few evaluation steps, until the
	// wall-clock bound stops it.
	slowAtSignInPolicy = strings.Replace(closedVPNPolicy, `"max_attempts": 3,`, `"max_attempts": attempts,`, 1) + `
default attempts := 3

attempts := 4 if {
	input.request.ip
	a := "0123456789abcdef"
	b := concat("", [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a])
	c := concat("", [b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b])
	d := concat("", [c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c])
	e := concat("", [d, d, d, d, d, d, d, d, d, d, d, d, d, d, d, d])
	count([h | some i in numbers.range(1, 50000); i > 0; h := crypto.sha256(e)]) == 0
}
`
)

// post sends a JSON POST from any goroutine (apitest.Client fails the test,
// which only the test's goroutine may do).
func post(url, key string, body any) (apitest.Response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return apitest.Response{}, err
	}
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return apitest.Response{}, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("apikey", key)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return apitest.Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: string(b)}, err
}

// otherAccount adds an account to h's deployment, with its own app and
// admin keys, and returns a client acting for it.
func otherAccount(t *testing.T, h *harness, id string) *apitest.Client {
	t.Helper()
	ctx := t.Context()
	if err := h.Store.CreateAccount(ctx, &store.Account{ID: id, Name: id, CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, URL: h.URL}
	for _, k := range []struct {
		scope, prefix string
		out           *string
	}{{store.ScopeApp, secret.AppKeyPrefix, &c.AppKey}, {store.ScopeAdmin, secret.AdminKeyPrefix, &c.AdminKey}} {
		key, err := secret.NewAPIKey(k.prefix)
		if err != nil {
			t.Fatal(err)
		}
		err = h.Store.CreateAPIKey(ctx, &store.APIKey{
			ID: uuid.NewString(), AccountID: id, Name: k.scope + " key", Scope: k.scope,
			Hash: secret.HashAPIKey(key), CreatedAt: time.Now().UTC(),
		})
		if err != nil {
			t.Fatal(err)
		}
		*k.out = key
	}
	return c
}

// peakRSS is this process's peak resident memory (VmHWM), in bytes: the
// API under test runs in this process.
func peakRSS(t *testing.T) int64 {
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

// wantLimit asserts a refusal for exceeding a review limit, saying one of
// msgs.
func wantLimit(t *testing.T, res apitest.Response, limit string, msgs ...string) {
	t.Helper()
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("hostile upload = %d %s, want 422 with limit %q and one of %q", res.Status, res.Body, limit, msgs)
	}
	out := apitest.Decode[apitest.PolicyRefused](t, res)
	said := false
	for _, msg := range msgs {
		said = said || out.Error == "policy refused: "+msg
	}
	if out.Limit != limit || !said {
		t.Fatalf("hostile upload = %d %s, want 422 with limit %q and one of %q", res.Status, res.Body, limit, msgs)
	}
}

// Not parallel: the API's peak memory is measured around the uploads, and
// parallel tests wait while this one runs.
func TestHostilePolicyIsStoppedWhileOtherAccountsSignIn(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{policyReview: policies.ReviewerConfig{
		Memory: 256 << 20, CPU: 2 * time.Second, Timeout: time.Minute,
	}})
	other := otherAccount(t, h, "globex")
	other.Setup("mail", []string{"pin"}, "low", "grace", "pin")

	before := peakRSS(t)
	type answer struct {
		res apitest.Response
		err error
	}
	memory, loop := make(chan answer, 1), make(chan answer, 1)
	start := time.Now()
	for tests, ch := range map[string]chan answer{memoryHogTests: memory, busyLoopTests: loop} {
		go func() {
			res, err := post(h.URL+"/v1/admin/policy", h.AdminKey, req{"rego": closedVPNPolicy, "tests": tests})
			ch <- answer{res, err}
		}()
	}

	// Account globex signs in, again and again, while acme's hostile
	// policies are reviewed.
	var signIns []time.Duration
	var memAnswer, loopAnswer *answer
	for memAnswer == nil || loopAnswer == nil {
		select {
		case a := <-memory:
			memAnswer = &a
		case a := <-loop:
			loopAnswer = &a
		default:
			if len(signIns) >= 8 { // the user's start limit is 10 in 15 minutes
				time.Sleep(50 * time.Millisecond)
				continue
			}
			code := h.outbox.message(t, other.Start("mail", "grace")).Code
			other.Expect("/v1/check", req{"system": "mail", "authid": "grace", "pin": code}, http.StatusOK, "authenticated")
			signIns = append(signIns, time.Since(start))
		}
	}
	took := time.Since(start)
	for _, a := range []*answer{memAnswer, loopAnswer} {
		if a.err != nil {
			t.Fatal(a.err)
		}
	}
	wantLimit(t, memAnswer.res, policies.LimitMemory, "the policy review needed more than 256 MiB of memory and was stopped")
	// The kernel stops it after 2s of CPU; on a loaded machine the minute
	// of wall-clock time may run out first.
	wantLimit(t, loopAnswer.res, policies.LimitTime, "the policy review used more than 2s of CPU time and was stopped",
		"the policy review took longer than 1m0s and was stopped")
	if len(signIns) == 0 || signIns[0] > took {
		t.Fatalf("sign-ins of the other account completed at %v, reviews answered after %s: want sign-ins meanwhile", signIns, took)
	}
	grew := peakRSS(t) - before
	t.Logf("hostile reviews answered after %s; %d sign-ins of the other account meanwhile (at %v); the API process's peak RSS grew %d MiB",
		took.Round(time.Millisecond), len(signIns), signIns, grew>>20)
	if grew > 128<<20 {
		t.Errorf("the API process's peak RSS grew by %d MiB: the hostile policy ran in it", grew>>20)
	}

	if v := activeVersion(t, h); v != 0 {
		t.Fatalf("active version = %v after hostile uploads, want the built-in 0", v)
	}
	if types := h.AuditTypes("type=policy.uploaded"); len(types) != 0 {
		t.Fatalf("policy.uploaded events = %v after refused uploads", types)
	}
	out := adminAs[apitest.PolicyUploaded](h, http.MethodPost, "/v1/admin/policy", req{"rego": closedVPNPolicy, "tests": closedVPNTests}, http.StatusCreated)
	if out.Version != 1 {
		t.Fatalf("a good upload afterwards = %+v, want version 1", out)
	}
}

// Not parallel: its reviews must not wait on other tests' for the CPU.
func TestPolicyReviewsAndEvaluationsAreBounded(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{policyReview: policies.ReviewerConfig{
		Concurrent: 2, Wait: 300 * time.Millisecond, CPU: 2 * time.Second, Timeout: 3 * time.Second,
	}})
	h.Setup("wiki", []string{"pin"}, "low", "ada", "pin")

	// answers sends n requests at once and returns the answers.
	answers := func(n int, path string, body any) []apitest.Response {
		var wg sync.WaitGroup
		out, errs := make([]apitest.Response, n), make([]error, n)
		for i := range n {
			wg.Go(func() { out[i], errs[i] = post(h.URL+path, h.AdminKey, body) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	// split counts 503s (checking their Retry-After and error) and
	// returns the other answers.
	split := func(res []apitest.Response, retryAfter, busy string) (rest []apitest.Response, refused int) {
		t.Helper()
		for _, r := range res {
			if r.Status != http.StatusServiceUnavailable {
				rest = append(rest, r)
				continue
			}
			refused++
			if r.Header.Get("Retry-After") != retryAfter || apitest.Decode[apitest.Error](t, r).Error != busy {
				t.Errorf("503 = %v %s, want Retry-After %s and %q", r.Header, r.Body, retryAfter, busy)
			}
		}
		return rest, refused
	}

	t.Run("uploads beyond the bound are answered 503 with Retry-After", func(t *testing.T) {
		res := answers(5, "/v1/admin/policy", req{"rego": closedVPNPolicy, "tests": busyLoopTests})
		reviewed, busy := split(res, "3", "too many policy reviews at once; try again later")
		// Two run (for 2s of CPU or 3s), the others wait 300ms for a turn.
		// (On a loaded machine a late request may find a slot free.)
		if busy < 2 || busy+len(reviewed) != 5 {
			t.Fatalf("%d busy, %d reviewed, want 3 and 2: %v", busy, len(reviewed), res)
		}
		for _, r := range reviewed {
			if r.Status != http.StatusUnprocessableEntity || apitest.Decode[apitest.PolicyRefused](t, r).Limit != policies.LimitTime {
				t.Errorf("reviewed upload = %d %s, want 422 at the time limit", r.Status, r.Body)
			}
		}
		if v := activeVersion(t, h); v != 0 {
			t.Fatalf("active version = %v, want 0", v)
		}
	})

	t.Run("a policy that loops at sign-in is stopped, denying with the reason, and evaluations beyond the bound get 503", func(t *testing.T) {
		version := adminAs[apitest.PolicyUploaded](h, http.MethodPost, "/v1/admin/policy", req{"rego": slowAtSignInPolicy, "tests": closedVPNTests}, http.StatusCreated).Version
		reason := "policy error: evaluate policy: " + policies.ErrEvaluationTimeout.Error()

		res := answers(6, "/v1/admin/policy/evaluate", req{"authid": "ada", "system": "wiki", "ip": "203.0.113.9"})
		evaluated, busy := split(res, "8", "too many policy evaluations at once; try again later")
		// Four run (for 8s each), the others wait 1s for a turn.
		if busy < 1 || busy+len(evaluated) != 6 || len(evaluated) < 4 {
			t.Fatalf("%d busy, %d evaluated, want 2 and 4: %v", busy, len(evaluated), res)
		}
		for _, r := range evaluated {
			if r.Status != http.StatusOK {
				t.Errorf("evaluation = %d %s, want a denial: %q", r.Status, r.Body, reason)
				continue
			}
			out := apitest.Decode[apitest.PolicyEvaluation](t, r)
			if d := out.Decision; d.Allow || !slices.Equal(d.Reasons, []string{reason}) || out.PolicyVersion != version {
				t.Errorf("evaluation = %d %s, want a denial: %q", r.Status, r.Body, reason)
			}
		}

		began := time.Now()
		h.Expect("/v1/start", req{"system": "wiki", "authid": "ada"}, http.StatusForbidden, "security error")
		if took := time.Since(began); took > policies.EvaluationTimeout+5*time.Second {
			t.Errorf("start answered after %s", took)
		}
		events := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?system=wiki&type=policy.decision&limit=1", nil, http.StatusOK).Events
		if len(events) != 1 || !slices.Equal(events[0].Reasons, []string{reason}) {
			t.Fatalf("policy.decision = %+v, want the reason %q", events, reason)
		}
	})
}
