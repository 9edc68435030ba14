package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/policies"
)

type req = map[string]any

func TestPasswordlessLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless", "pin"}, "low", "alice", "passwordless")
	body := req{"system": "wiki", "authid": "alice"}

	h.Expect("/v1/start", body, http.StatusOK, "success")
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	msg := h.waitMessage("alice@example.com", 1)
	if msg.Link == "" || msg.Channel != "email" || !strings.Contains(msg.Body, msg.Link) {
		t.Fatalf("message = %+v, want an email carrying the link", msg)
	}
	token := msg.Link[strings.LastIndex(msg.Link, "/")+1:]
	if strings.Contains(msg.Link, "alice") || len(token) < 43 {
		t.Fatalf("link %q names the user or carries under 256 bits", msg.Link)
	}

	// Opening the link (what a mail scanner does too) only shows a page.
	res := h.Page(http.MethodGet, msg.Link)
	status, html := res.Status, res.Body
	if status != http.StatusOK || !strings.Contains(html, "<form") || !strings.Contains(strings.ToLower(html), "post") {
		t.Fatalf("GET link = %d, want a confirmation form:\n%s", status, html)
	}
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")

	res = h.Page(http.MethodPost, msg.Link)
	status, html = res.Status, res.Body
	if status != http.StatusOK {
		t.Fatalf("POST link = %d:\n%s", status, html)
	}
	h.Expect("/v1/check", body, http.StatusOK, "authenticated")

	// A link works once.
	if h.Page(http.MethodPost, msg.Link).Status == http.StatusOK {
		t.Fatal("the link confirmed a second time")
	}
	h.assertHistoryHasNo(h.workflowID("wiki", "alice"), token)
	h.saveHistory(h.workflowID("wiki", "alice"), "passwordless_confirmed")
	// Newest first: the attempt's events, then the admin's set-up.
	types := h.AuditTypes("authid=alice")
	want := []string{attempt.EventAuthenticated, attempt.EventDelivered, attempt.EventDecision, attempt.EventStarted,
		"assignments.updated", "user.created"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Fatalf("audit = %v, want %v", types, want)
	}
	user := apitest.AdminAs[apitest.User](h.Client, http.MethodGet, "/v1/admin/users/alice", nil, http.StatusOK)
	if user.LoginCount != 1 || user.LastIP == "" {
		t.Fatalf("user after sign-in = %v", user)
	}
}

func TestPINAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "bob", "pin")
	body := req{"system": "vpn", "authid": "bob"}

	h.Expect("/v1/start", body, http.StatusOK, "success")
	msg := h.waitMessage("bob@example.com", 1)
	if len(msg.Code) != 8 || strings.Trim(msg.Code, "0123456789") != "" {
		t.Fatalf("code %q is not 8 digits", msg.Code)
	}
	wrong := "00000000"
	if wrong == msg.Code {
		wrong = "11111111"
	}
	h.Expect("/v1/check", req{"system": "vpn", "authid": "bob", "pin": wrong}, http.StatusForbidden, "security error")
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")

	// The PIN as a JSON number: leading zeros are restored.
	n, err := strconv.Atoi(msg.Code)
	if err != nil {
		t.Fatal(err)
	}
	h.Expect("/v1/check", req{"system": "vpn", "authid": "bob", "pin": n}, http.StatusOK, "authenticated")
	h.Expect("/v1/check", body, http.StatusOK, "authenticated")

	// Secrets reach workflow history only as digests.
	h.assertHistoryHasNo(h.workflowID("vpn", "bob"), msg.Code)
	h.saveHistory(h.workflowID("vpn", "bob"), "pin_wrong_then_right")
}

func TestTOTPAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("payroll", []string{"totp", "pin"}, "high", "carol", "totp")

	enrol := apitest.AdminAs[apitest.TOTPEnrolment](h.Client, http.MethodPost, "/v1/admin/users/carol/totp", nil, http.StatusOK)
	uri := enrol.OtpauthURI
	seed := enrol.Secret
	if !strings.HasPrefix(uri, "otpauth://totp/") || seed == "" {
		t.Fatalf("enrolment = %v", enrol)
	}
	// Codes of successive steps from the deployment's clock: the
	// enrolment's, then the sign-in's.
	clock := &totpClock{h: h, secret: seed}
	code := clock.code()
	h.Admin(http.MethodPost, "/v1/admin/users/carol/totp/verify", req{"code": code}, http.StatusOK)

	body := req{"system": "payroll", "authid": "carol"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	// The enrolment code (an earlier step) cannot sign in.
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": code}, http.StatusForbidden, "security error")
	now := clock.code()
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": now}, http.StatusOK, "authenticated")

	// Each code signs in once, even in a new attempt.
	h.Expect("/v1/start", body, http.StatusOK, "success")
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": now}, http.StatusForbidden, "security error")
	h.assertHistoryHasNo(h.workflowID("payroll", "carol"), now)
	h.saveHistory(h.workflowID("payroll", "carol"), "totp_reused_code")
}

func TestLockOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "dave", "pin")
	body := req{"system": "vpn", "authid": "dave"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	msg := h.waitMessage("dave@example.com", 1)
	wrong := "12345678"
	if wrong == msg.Code {
		wrong = "87654321"
	}
	for range 5 {
		h.Expect("/v1/check", req{"system": "vpn", "authid": "dave", "pin": wrong}, http.StatusForbidden, "security error")
	}
	// Locked: even the right code is refused, and so is a new start.
	h.Expect("/v1/check", req{"system": "vpn", "authid": "dave", "pin": msg.Code}, http.StatusForbidden, "security error")
	h.Expect("/v1/check", body, http.StatusForbidden, "security error")
	h.saveHistory(h.workflowID("vpn", "dave"), "pin_locked")
	h.Expect("/v1/start", body, http.StatusForbidden, "security error")
	types := h.AuditTypes("authid=dave")
	if len(types) == 0 || types[0] != attempt.EventDenied {
		t.Fatalf("audit after a start while locked out = %v", types)
	}
}

func TestNewStartSupersedesThePendingAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin", "passwordless"}, "low", "erin", "pin")
	body := req{"system": "vpn", "authid": "erin"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	first := h.waitMessage("erin@example.com", 1)
	h.Expect("/v1/start", body, http.StatusOK, "success")
	second := h.waitMessage("erin@example.com", 2)
	if first.Attempt == second.Attempt {
		t.Fatal("both messages belong to one attempt")
	}
	if first.Code != second.Code {
		h.Expect("/v1/check", req{"system": "vpn", "authid": "erin", "pin": first.Code}, http.StatusForbidden, "security error")
	}
	h.Expect("/v1/check", req{"system": "vpn", "authid": "erin", "pin": second.Code}, http.StatusOK, "authenticated")

	// A superseded link stops working too.
	h.Admin(http.MethodPut, "/v1/admin/users/erin/systems", req{"assignments": []req{{"system": "vpn", "method": "passwordless"}}}, http.StatusOK)
	h.Expect("/v1/start", body, http.StatusOK, "success")
	oldLink := h.waitMessage("erin@example.com", 3)
	h.Expect("/v1/start", body, http.StatusOK, "success")
	newLink := h.waitMessage("erin@example.com", 4)
	if h.Page(http.MethodPost, oldLink.Link).Status == http.StatusOK {
		t.Fatal("a superseded link confirmed")
	}
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	if h.Page(http.MethodPost, newLink.Link).Status != http.StatusOK {
		t.Fatal("the current link did not confirm")
	}
	h.Expect("/v1/check", body, http.StatusOK, "authenticated")
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "kiosk", "methods": []string{"pin"}, "sensitivity": "low", "ttl_seconds": 30}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "frank", "email": "frank@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/frank/systems", req{"assignments": []req{{"system": "kiosk", "method": "pin"}}}, http.StatusOK)
	// The API's floor of 30 s is for callers; the attempt's life is the
	// policy's decision on the stored system, then the workflow's timer,
	// whatever the length. Shortened in the row, it runs out in seconds
	// by the same path.
	h.setSystemTTL("kiosk", 2)
	body := req{"system": "kiosk", "authid": "frank"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	msg := h.waitMessage("frank@example.com", 1)
	h.waitAudit("authid=frank&type="+attempt.EventExpired, 1)
	h.Expect("/v1/check", body, http.StatusForbidden, "expired")
	h.Expect("/v1/check", req{"system": "kiosk", "authid": "frank", "pin": msg.Code}, http.StatusForbidden, "expired")
	types := h.AuditTypes("authid=frank")
	if len(types) == 0 || types[0] != attempt.EventExpired {
		t.Fatalf("audit = %v, want attempt.expired first", types)
	}
}

func TestNoEnumeration(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "gina", "pin")
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "crm", "methods": []string{"pin"}}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "hank", "email": "hank@example.com", "status": "disabled"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/hank/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)

	cases := []struct {
		name string
		key  string
		body req
	}{
		{"unknown user", h.AppKey, req{"system": "vpn", "authid": "nobody"}},
		{"unknown system", h.AppKey, req{"system": "nothing", "authid": "gina"}},
		{"unassigned user", h.AppKey, req{"system": "crm", "authid": "gina"}},
		{"disabled user", h.AppKey, req{"system": "vpn", "authid": "hank"}},
		{"bad key", "fa_app_not-a-key", req{"system": "vpn", "authid": "gina"}},
		{"admin key on the app API", h.AdminKey, req{"system": "vpn", "authid": "gina"}},
	}
	var first string
	for _, c := range cases {
		for _, path := range []string{"/v1/start", "/v1/check"} {
			res := h.Do(http.MethodPost, path, c.key, c.body)
			status, raw := res.Status, res.Body
			got := strconv.Itoa(status) + " " + raw
			if first == "" {
				first = got
			}
			if status != http.StatusForbidden || got != first {
				t.Errorf("%s on %s = %s, want the same as every other: %s", c.name, path, got, first)
			}
		}
	}
	var res struct{ Result string }
	if err := json.Unmarshal([]byte(strings.SplitN(first, " ", 2)[1]), &res); err != nil || res.Result != "security error" {
		t.Fatalf("body = %s", first)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "ivan", "pin")
	cases := []struct {
		name string
		body string
	}{
		{"malformed JSON", `{"system": "vpn", "authid": `},
		{"authid as a number", `{"system": "vpn", "authid": 42}`},
		{"missing system", `{"authid": "ivan"}`},
		{"array body", `[1,2]`},
		{"oversized body", `{"system": "vpn", "authid": "` + strings.Repeat("a", 1<<20) + `"}`},
		{"pin with letters", `{"system": "vpn", "authid": "ivan", "pin": "12ab"}`},
		{"fractional pin", `{"system": "vpn", "authid": "ivan", "pin": 12.5}`},
	}
	for _, c := range cases {
		path := "/v1/start"
		if strings.Contains(c.body, "pin") {
			path = "/v1/check"
		}
		res := h.Do(http.MethodPost, path, h.AppKey, c.body)
		status, raw := res.Status, res.Body
		var e struct{ Error string }
		if status < 400 || status >= 500 || json.Unmarshal([]byte(raw), &e) != nil || e.Error == "" {
			t.Errorf("%s: %d %s, want a 4xx JSON error", c.name, status, raw)
		}
	}
	// Nothing was lost: the engine still works.
	h.Expect("/v1/start", req{"system": "vpn", "authid": "ivan"}, http.StatusOK, "success")
}

// assertHistoryHasNo fails if secret appears anywhere in the workflow's
// event history.
func (h *harness) assertHistoryHasNo(workflowID, secret string) {
	h.t.Helper()
	iter := h.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			h.t.Fatal(err)
		}
		events++
		// Payloads are JSON inside the protobuf bytes: a secret in clear
		// would appear verbatim.
		raw, err := proto.Marshal(ev)
		if err != nil {
			h.t.Fatal(err)
		}
		if strings.Contains(string(raw), secret) {
			h.t.Fatalf("workflow history event %d (%s) contains the secret %q", ev.GetEventId(), ev.GetEventType(), secret)
		}
	}
	if events == 0 {
		h.t.Fatal("empty workflow history")
	}
}

func TestBrokenPolicyFailsClosed(t *testing.T) {
	t.Parallel()
	// Compiles, but fails at evaluation: a runtime error in the decision.
	failing, err := policies.New(context.Background(), map[string]string{"risk.rego": `package flexauth.risk

decision := {"allow": true, "method": "pin", "ttl_seconds": 60 / count([]), "max_attempts": 5, "reasons": [], "risk": "low"}
`})
	if err != nil {
		t.Fatal(err)
	}
	_, compileErr := policies.New(context.Background(), map[string]string{"risk.rego": "package flexauth.risk\n\ndecision := {"})
	for name, policy := range map[string]activities.Policy{
		"evaluation error": failing,
		"compile error":    policies.Unavailable{Err: compileErr},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, withPolicy(policy))
			h.Setup("vpn", []string{"pin"}, "low", "judy", "pin")
			body := req{"system": "vpn", "authid": "judy"}
			h.Expect("/v1/start", body, http.StatusForbidden, "security error")
			h.Expect("/v1/check", body, http.StatusForbidden, "security error")
			out := apitest.AdminAs[apitest.AuditEvents](h.Client, http.MethodGet, "/v1/admin/audit?authid=judy&type=policy.decision", nil, http.StatusOK)
			events := out.Events
			if len(events) != 1 {
				t.Fatalf("policy decisions in the audit = %v", out)
			}
			reasons := events[0].Reasons
			if len(reasons) == 0 || !strings.HasPrefix(reasons[0], "policy error: ") {
				t.Fatalf("decision reasons = %v, want the policy error", reasons)
			}
		})
	}
}

func TestCrashedPluginIsRestartedAndTheDeliveryRetried(t *testing.T) {
	// Not parallel: the parallel tests wait until this one is done, so the
	// only plugin process of this binary is this harness's.
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "kate", "pin")
	body := req{"system": "vpn", "authid": "kate"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	first := h.waitMessage("kate@example.com", 1)

	// Kill the plugin process: the one running this binary's outbox.
	killed := 0
	for _, pid := range processesRunning(t, outboxBin) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("no plugin process to kill")
	}

	h.Expect("/v1/start", body, http.StatusOK, "success")
	second := h.waitMessage("kate@example.com", 2)
	if second.Attempt == first.Attempt || second.Code == "" {
		t.Fatalf("after the crash: %+v", second)
	}
	h.Expect("/v1/check", req{"system": "vpn", "authid": "kate", "pin": second.Code}, http.StatusOK, "authenticated")
}

func TestTooManyStartsAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "leo", "pin")
	body := req{"system": "vpn", "authid": "leo"}
	var tenth string
	for range 10 {
		tenth = h.Start("vpn", "leo")
	}
	// The tenth start's message goes out (before the next start, which
	// supersedes its attempt whatever it is answered). Earlier ones may
	// not: a start superseded before its delivery sends nothing.
	if got := h.waitAttemptMessage(tenth); got.Code == "" {
		t.Fatal("the tenth start sent nothing")
	}
	h.Expect("/v1/start", body, http.StatusForbidden, "security error")
	// An unknown user is limited the same way: the answer is the same 403,
	// and the audit trail shows the limit took over from "unknown user".
	ghost := req{"system": "vpn", "authid": "ghost"}
	for range 11 {
		h.Expect("/v1/start", ghost, http.StatusForbidden, "security error")
	}
	ghostDenials := apitest.AdminAs[apitest.AuditEvents](h.Client, http.MethodGet, "/v1/admin/audit?authid=ghost&type="+attempt.EventDenied, nil, http.StatusOK)
	latest := ghostDenials.Events[0].Reasons
	if !strings.HasPrefix(latest[0], "rate limited: 11 starts for this user") {
		t.Fatalf("the 11th start of an unknown user was denied for %v, want the rate limit", latest)
	}
	out := apitest.AdminAs[apitest.AuditEvents](h.Client, http.MethodGet, "/v1/admin/audit?authid=leo&type="+attempt.EventDenied, nil, http.StatusOK)
	events := out.Events
	if len(events) != 1 {
		t.Fatalf("denials = %v", out)
	}
	reasons := events[0].Reasons
	if len(reasons) == 0 || !strings.HasPrefix(reasons[0], "rate limited: 11 starts for this user") {
		t.Fatalf("reasons = %v", reasons)
	}
}

// processesRunning lists the PIDs whose command line starts with exe
// (from /proc, so that no procps is needed).
func processesRunning(t *testing.T, exe string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.HasPrefix(string(cmdline), exe+"\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}
