package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
)

// closedVPNPolicy is stricter than the default: it refuses system vpn and
// keeps the assigned method elsewhere (the policies package tests it too).
var (
	closedVPNPolicy = readPolicy("../testdata/uploaded-policies/closed-vpn/risk.rego")
	closedVPNTests  = readPolicy("../testdata/uploaded-policies/closed-vpn/risk_test.rego")
)

func readPolicy(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(raw)
}

// activeVersion is the version GET /v1/admin/policy shows as active.
func activeVersion(t *testing.T, h *harness) int {
	t.Helper()
	return adminAs[apitest.Policy](h, http.MethodGet, "/v1/admin/policy", nil, http.StatusOK).Active.Version
}

func TestPolicyAdministration(t *testing.T) {
	h := newHarness(t)
	h.Setup("vpn", []string{"pin", "passwordless"}, "low", "ada", "pin")
	start := req{"system": "vpn", "authid": "ada"}

	t.Run("the built-in policy is version 0 until the account uploads one", func(t *testing.T) {
		out := adminAs[apitest.Policy](h, http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)
		active := out.Active
		if active.Version != 0 || !active.Builtin || active.CreatedAt != nil ||
			!strings.Contains(active.Rego, "package flexauth.risk") ||
			!strings.Contains(active.Tests, "package flexauth.risk_test") {
			t.Fatalf("active = %.300v", active)
		}
		if len(out.Versions) != 1 || !out.Versions[0].Builtin || !out.Versions[0].Active {
			t.Fatalf("versions = %+v", out.Versions)
		}
	})

	t.Run("a syntax error is refused with its line, and nothing changes", func(t *testing.T) {
		broken := strings.Replace(closedVPNPolicy, `"risk": "high",`, `"risk": "high",,`, 1)
		res := h.Do(http.MethodPost, "/v1/admin/policy", h.AdminKey, req{"rego": broken, "tests": closedVPNTests})
		wantError(t, res, http.StatusUnprocessableEntity, "policy refused: ")
		problems := apitest.Decode[apitest.PolicyRefused](t, res).Problems
		if len(problems) == 0 {
			t.Fatalf("no problems in %s", res.Body)
		}
		if p := problems[0]; p.File != "policy.rego" || p.Line != 9 || p.Column != 17 || p.Message == "" {
			t.Fatalf("problem = %+v, want policy.rego line 9 column 17", p)
		}
		if v := activeVersion(t, h); v != 0 {
			t.Fatalf("active version = %v after a refused upload", v)
		}
	})

	t.Run("a policy failing its own test is refused, the test named", func(t *testing.T) {
		wrong := strings.Replace(closedVPNPolicy, `input.system.name != "vpn"`, `input.system.name != "mail"`, 1)
		res := h.Do(http.MethodPost, "/v1/admin/policy", h.AdminKey, req{"rego": wrong, "tests": closedVPNTests})
		wantError(t, res, http.StatusUnprocessableEntity, "test_vpn_is_closed")
		var failed []string
		for _, tr := range apitest.Decode[apitest.PolicyRefused](t, res).Tests {
			if !tr.Passed {
				failed = append(failed, tr.Name)
			}
		}
		if !slices.Equal(failed, []string{"test_vpn_is_closed"}) {
			t.Fatalf("failed tests = %v in %s", failed, res.Body)
		}
		if v := activeVersion(t, h); v != 0 {
			t.Fatalf("active version = %v after a refused upload", v)
		}
	})

	t.Run("a policy without tests is refused", func(t *testing.T) {
		wantError(t, h.Do(http.MethodPost, "/v1/admin/policy", h.AdminKey, req{"rego": closedVPNPolicy}),
			http.StatusUnprocessableEntity, "a policy without tests is refused")
	})

	t.Run("an accepted policy is active at once and decides the next start", func(t *testing.T) {
		out := adminAs[apitest.PolicyUploaded](h, http.MethodPost, "/v1/admin/policy", req{"rego": closedVPNPolicy, "tests": closedVPNTests}, http.StatusCreated)
		if out.Version != 1 || len(out.Tests) != 2 || !out.Tests[0].Passed {
			t.Fatalf("upload = %+v", out)
		}
		got := adminAs[apitest.Policy](h, http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)
		active := got.Active
		if active.Version != 1 || active.Builtin || active.Rego != closedVPNPolicy ||
			active.Tests != closedVPNTests || !strings.HasPrefix(active.CreatedBy, "key:") {
			t.Fatalf("active = %+v", active)
		}
		if versions := got.Versions; len(versions) != 2 || !versions[0].Active || versions[1].Active {
			t.Fatalf("versions = %+v", versions)
		}

		// The worker decides with the account's policy: vpn is refused,
		// and the audit trail says it was the uploaded policy.
		h.Expect("/v1/start", start, http.StatusForbidden, "security error")
		events := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?system=vpn&type=policy.decision&limit=1", nil, http.StatusOK).Events
		if len(events) != 1 || !slices.Contains(events[0].Reasons, "vpn is closed by the uploaded policy") {
			t.Fatalf("policy.decision = %+v", events)
		}
	})

	t.Run("evaluate shows the active policy's decision and its reasons", func(t *testing.T) {
		out := adminAs[apitest.PolicyEvaluation](h, http.MethodPost, "/v1/admin/policy/evaluate",
			req{"authid": "ada", "system": "vpn", "ip": "203.0.113.9", "time": "2026-11-23T09:30:00Z"}, http.StatusOK)
		d := out.Decision
		if d.Allow || !slices.Contains(d.Reasons, "vpn is closed by the uploaded policy") ||
			out.PolicyVersion != 1 || out.Directory != "not consulted" {
			t.Fatalf("evaluate = %+v", out)
		}
		// The input is the policy's document, free-form in the contract:
		// read loosely, only the parts this test set.
		var in struct {
			Request struct {
				IP   string `json:"ip"`
				Time string `json:"time"`
			} `json:"request"`
			History struct {
				NewIP bool `json:"new_ip"`
			} `json:"history"`
			Subject struct {
				AssignedMethod string `json:"assigned_method"`
				Authid         string `json:"authid"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(out.Input, &in); err != nil {
			t.Fatalf("input %s: %v", out.Input, err)
		}
		if in.Request.IP != "203.0.113.9" || in.Request.Time != "2026-11-23T09:30:00Z" || !in.History.NewIP ||
			in.Subject.AssignedMethod != "pin" || in.Subject.Authid != "ada" {
			t.Fatalf("input = %s", out.Input)
		}
	})

	t.Run("rollback to the built-in policy takes effect at the next start", func(t *testing.T) {
		out := adminAs[apitest.PolicyRollback](h, http.MethodPost, "/v1/admin/policy/rollback", req{"version": 0}, http.StatusOK)
		if out.Version != 0 {
			t.Fatalf("rollback = %+v", out)
		}
		h.Start("vpn", "ada")
		ev := adminAs[apitest.PolicyEvaluation](h, http.MethodPost, "/v1/admin/policy/evaluate", req{"authid": "ada", "system": "vpn"}, http.StatusOK)
		d := ev.Decision
		if !d.Allow || d.Method != "pin" || ev.PolicyVersion != 0 ||
			!slices.Contains(d.Reasons, "sensitivity low") {
			t.Fatalf("evaluate after rollback = %+v", ev)
		}
		if types := h.AuditTypes("type=policy.activated"); len(types) != 1 {
			t.Fatalf("policy.activated events = %v", types)
		}
		if types := h.AuditTypes("type=policy.uploaded"); len(types) != 1 {
			t.Fatalf("policy.uploaded events = %v (refused uploads must not be recorded as uploads)", types)
		}
	})

	t.Run("evaluate says why Begin would deny before the policy", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki", "methods": []string{"pin"}}, http.StatusCreated)
		out := adminAs[apitest.PolicyEvaluation](h, http.MethodPost, "/v1/admin/policy/evaluate", req{"authid": "ada", "system": "wiki"}, http.StatusOK)
		if d := out.Decision; d.Allow || !slices.Equal(d.Reasons, []string{"user is not assigned to the system"}) ||
			out.PolicyConsulted {
			t.Fatalf("evaluate of an unassigned user = %+v", out)
		}
	})

	t.Run("a policy bigger than the default body limit can be uploaded", func(t *testing.T) {
		padded := closedVPNPolicy + "\n# " + strings.Repeat("x", 200<<10) + "\n"
		out := adminAs[apitest.PolicyUploaded](h, http.MethodPost, "/v1/admin/policy", req{"rego": padded, "tests": closedVPNTests}, http.StatusCreated)
		if out.Version != 2 {
			t.Fatalf("upload = %+v", out)
		}
		huge := closedVPNPolicy + "\n# " + strings.Repeat("x", 1<<20) + "\n"
		res := h.Do(http.MethodPost, "/v1/admin/policy", h.AdminKey, req{"rego": huge, "tests": closedVPNTests})
		wantError(t, res, http.StatusRequestEntityTooLarge, "request body exceeds 1048576 bytes")
	})

	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		want       string
	}{
		{"rollback to an unknown version", "/v1/admin/policy/rollback", req{"version": 7}, http.StatusNotFound, "policy version 7 not found"},
		{"rollback without a version", "/v1/admin/policy/rollback", req{}, http.StatusBadRequest, "version is required"},
		{"rollback to a negative version", "/v1/admin/policy/rollback", req{"version": -1}, http.StatusBadRequest, "version is required"},
		{"upload with an unknown field", "/v1/admin/policy", req{"rego": "x", "tests": "y", "extra": 1}, http.StatusBadRequest, "extra"},
		{"evaluate an unknown user", "/v1/admin/policy/evaluate", req{"authid": "nobody", "system": "vpn"}, http.StatusNotFound, `user "nobody" not found`},
		{"evaluate an unknown system", "/v1/admin/policy/evaluate", req{"authid": "ada", "system": "mail"}, http.StatusNotFound, `system "mail" not found`},
		{"evaluate without authid", "/v1/admin/policy/evaluate", req{"system": "vpn"}, http.StatusBadRequest, "authid is required"},
		{"evaluate with a bad ip", "/v1/admin/policy/evaluate", req{"authid": "ada", "system": "vpn", "ip": "10.0.0"}, http.StatusBadRequest, "not an IP address"},
		{"evaluate with a bad time", "/v1/admin/policy/evaluate", req{"authid": "ada", "system": "vpn", "time": "yesterday"}, http.StatusBadRequest, "RFC 3339"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			wantError(t, h.Do(http.MethodPost, tc.path, h.AdminKey, tc.body), tc.status, tc.want)
		})
	}

	t.Run("the app key cannot manage policies", func(t *testing.T) {
		res := h.Do(http.MethodPost, "/v1/admin/policy/rollback", h.AppKey, req{"version": 0})
		if res.Status != http.StatusForbidden {
			t.Fatalf("rollback with the app key = %d %s", res.Status, res.Body)
		}
	})
}
