package api_test

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
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
func activeVersion(t *testing.T, h *harness) float64 {
	t.Helper()
	active, _ := h.Admin(http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)["active"].(map[string]any)
	v, ok := active["version"].(float64)
	if !ok {
		t.Fatalf("active policy = %v", active)
	}
	return v
}

// reasonsOf returns the string reasons of a decision or audit event.
func reasonsOf(v any) []string {
	var out []string
	for _, r := range v.([]any) {
		out = append(out, r.(string))
	}
	return out
}

func TestPolicyAdministration(t *testing.T) {
	h := newHarness(t)
	h.Setup("vpn", []string{"pin", "passwordless"}, "low", "ada", "pin")
	start := req{"system": "vpn", "authid": "ada"}

	t.Run("the built-in policy is version 0 until the account uploads one", func(t *testing.T) {
		out := h.Admin(http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)
		active := out["active"].(map[string]any)
		if active["version"] != 0.0 || active["builtin"] != true || active["created_at"] != nil ||
			!strings.Contains(active["rego"].(string), "package flexauth.risk") ||
			!strings.Contains(active["tests"].(string), "package flexauth.risk_test") {
			t.Fatalf("active = %.300v", active)
		}
		versions := out["versions"].([]any)
		if len(versions) != 1 || versions[0].(map[string]any)["builtin"] != true || versions[0].(map[string]any)["active"] != true {
			t.Fatalf("versions = %v", versions)
		}
	})

	t.Run("a syntax error is refused with its line, and nothing changes", func(t *testing.T) {
		broken := strings.Replace(closedVPNPolicy, `"risk": "high",`, `"risk": "high",,`, 1)
		res := h.Do(http.MethodPost, "/v1/admin/policy", h.AdminKey, req{"rego": broken, "tests": closedVPNTests})
		wantError(t, res, http.StatusUnprocessableEntity, "policy refused: ")
		problems, _ := res.JSON(t)["problems"].([]any)
		if len(problems) == 0 {
			t.Fatalf("no problems in %s", res.Body)
		}
		p := problems[0].(map[string]any)
		if p["file"] != "policy.rego" || p["line"] != 9.0 || p["column"] != 17.0 || p["message"] == "" {
			t.Fatalf("problem = %v, want policy.rego line 9 column 17", p)
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
		for _, tr := range res.JSON(t)["tests"].([]any) {
			tr := tr.(map[string]any)
			if tr["passed"] == false {
				failed = append(failed, tr["name"].(string))
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
		out := h.Admin(http.MethodPost, "/v1/admin/policy", req{"rego": closedVPNPolicy, "tests": closedVPNTests}, http.StatusCreated)
		tests := out["tests"].([]any)
		if out["version"] != 1.0 || len(tests) != 2 || tests[0].(map[string]any)["passed"] != true {
			t.Fatalf("upload = %v", out)
		}
		got := h.Admin(http.MethodGet, "/v1/admin/policy", nil, http.StatusOK)
		active := got["active"].(map[string]any)
		if active["version"] != 1.0 || active["builtin"] != false || active["rego"] != closedVPNPolicy ||
			active["tests"] != closedVPNTests || !strings.HasPrefix(active["created_by"].(string), "key:") {
			t.Fatalf("active = %v", active)
		}
		if versions := got["versions"].([]any); len(versions) != 2 ||
			versions[0].(map[string]any)["active"] != true || versions[1].(map[string]any)["active"] != false {
			t.Fatalf("versions = %v", versions)
		}

		// The worker decides with the account's policy: vpn is refused,
		// and the audit trail says it was the uploaded policy.
		h.Expect("/v1/start", start, http.StatusForbidden, "security error")
		events := h.Admin(http.MethodGet, "/v1/admin/audit?system=vpn&type=policy.decision&limit=1", nil, http.StatusOK)["events"].([]any)
		if len(events) != 1 || !slices.Contains(reasonsOf(events[0].(map[string]any)["reasons"]), "vpn is closed by the uploaded policy") {
			t.Fatalf("policy.decision = %v", events)
		}
	})

	t.Run("evaluate shows the active policy's decision and its reasons", func(t *testing.T) {
		out := h.Admin(http.MethodPost, "/v1/admin/policy/evaluate",
			req{"authid": "ada", "system": "vpn", "ip": "203.0.113.9", "time": "2026-11-23T09:30:00Z"}, http.StatusOK)
		d := out["decision"].(map[string]any)
		if d["allow"] != false || !slices.Contains(reasonsOf(d["reasons"]), "vpn is closed by the uploaded policy") ||
			out["policy_version"] != 1.0 || out["directory"] != "not consulted" {
			t.Fatalf("evaluate = %v", out)
		}
		in := out["input"].(map[string]any)
		request, history := in["request"].(map[string]any), in["history"].(map[string]any)
		subject := in["subject"].(map[string]any)
		if request["ip"] != "203.0.113.9" || request["time"] != "2026-11-23T09:30:00Z" || history["new_ip"] != true ||
			subject["assigned_method"] != "pin" || subject["authid"] != "ada" {
			t.Fatalf("input = %v", in)
		}
	})

	t.Run("rollback to the built-in policy takes effect at the next start", func(t *testing.T) {
		out := h.Admin(http.MethodPost, "/v1/admin/policy/rollback", req{"version": 0}, http.StatusOK)
		if out["version"] != 0.0 {
			t.Fatalf("rollback = %v", out)
		}
		h.Start("vpn", "ada")
		ev := h.Admin(http.MethodPost, "/v1/admin/policy/evaluate", req{"authid": "ada", "system": "vpn"}, http.StatusOK)
		d := ev["decision"].(map[string]any)
		if d["allow"] != true || d["method"] != "pin" || ev["policy_version"] != 0.0 ||
			!slices.Contains(reasonsOf(d["reasons"]), "sensitivity low") {
			t.Fatalf("evaluate after rollback = %v", ev)
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
		out := h.Admin(http.MethodPost, "/v1/admin/policy/evaluate", req{"authid": "ada", "system": "wiki"}, http.StatusOK)
		d := out["decision"].(map[string]any)
		if d["allow"] != false || !slices.Equal(reasonsOf(d["reasons"]), []string{"user is not assigned to the system"}) ||
			out["policy_consulted"] != false {
			t.Fatalf("evaluate of an unassigned user = %v", out)
		}
	})

	t.Run("a policy bigger than the default body limit can be uploaded", func(t *testing.T) {
		padded := closedVPNPolicy + "\n# " + strings.Repeat("x", 200<<10) + "\n"
		out := h.Admin(http.MethodPost, "/v1/admin/policy", req{"rego": padded, "tests": closedVPNTests}, http.StatusCreated)
		if out["version"] != 2.0 {
			t.Fatalf("upload = %v", out)
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
