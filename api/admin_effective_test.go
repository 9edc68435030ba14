package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/store"
)

// effectiveOf returns a system answer's effective decisions by method, as
// "ttl/max_attempts/channel" ("denied" for a denial).
func effectiveOf(t *testing.T, sys apitest.System) map[string]string {
	t.Helper()
	return effectiveDecisions(t, sys.Name, sys.Effective)
}

// effectiveDecisions is effectiveOf for the effective limits of name.
func effectiveDecisions(t *testing.T, name string, eff *apitest.Effective) map[string]string {
	t.Helper()
	if eff == nil {
		t.Fatalf("system %s has no effective limits", name)
	}
	if eff.Error != "" {
		t.Fatalf("effective limits of %s: %s", name, eff.Error)
	}
	if eff.Assumed == "" {
		t.Fatalf("effective limits of %s do not say which sign-in they are for: %+v", name, eff)
	}
	out := map[string]string{}
	for _, m := range eff.Methods {
		if !m.Allow {
			out[m.Method] = "denied"
			continue
		}
		out[m.Method] = fmt.Sprintf("%d/%d/%s", m.TTLSeconds, m.MaxAttempts, m.Channel)
	}
	return out
}

func TestSystemsAnswerTheirEffectiveLimits(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki", "methods": []string{"passwordless", "totp"}, "sensitivity": "low", "ttl_seconds": 3600}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin"}, "sensitivity": "high", "ttl_seconds": 300}, http.StatusCreated)
	created := adminAs[apitest.System](h, http.MethodPost, "/v1/admin/systems", req{"name": "mail", "methods": []string{"passwordless", "sso"}, "sensitivity": "medium", "ttl_seconds": 900}, http.StatusCreated)

	// What the built-in policy makes of each: a medium system lives 5
	// minutes whatever it asks, a high one 2 minutes with 3 wrong codes
	// and its PIN by SMS, a delivered link at most 10 minutes.
	want := map[string]map[string]string{
		"wiki": {"passwordless": "600/5/email", "totp": "3600/5/"},
		"vpn":  {"pin": "120/3/sms"},
		"mail": {"passwordless": "300/5/email", "sso": "300/5/email"},
	}
	t.Run("creating a system answers them", func(t *testing.T) {
		if got := effectiveOf(t, created); fmt.Sprint(got) != fmt.Sprint(want["mail"]) {
			t.Fatalf("mail as created: effective %v, want %v", got, want["mail"])
		}
		if v := created.Effective.PolicyVersion; v != 0 {
			t.Fatalf("policy_version = %v, want 0 (built-in)", v)
		}
	})
	t.Run("the list and each system answer what the active policy decides", func(t *testing.T) {
		for _, sys := range adminAs[apitest.Systems](h, http.MethodGet, "/v1/admin/systems", nil, http.StatusOK).Systems {
			if got := effectiveOf(t, sys); fmt.Sprint(got) != fmt.Sprint(want[sys.Name]) {
				t.Errorf("%s in the list: effective %v, want %v", sys.Name, got, want[sys.Name])
			}
		}
		vpn := adminAs[apitest.System](h, http.MethodGet, "/v1/admin/systems/vpn", nil, http.StatusOK)
		if got := effectiveOf(t, vpn); fmt.Sprint(got) != fmt.Sprint(want["vpn"]) {
			t.Fatalf("vpn: effective %v, want %v", got, want["vpn"])
		}
	})
	t.Run("a change answers the new limits", func(t *testing.T) {
		got := effectiveOf(t, adminAs[apitest.System](h, http.MethodPatch, "/v1/admin/systems/vpn", req{"sensitivity": "low"}, http.StatusOK))
		if got["pin"] != "300/5/email" {
			t.Fatalf("vpn at low sensitivity: effective %v, want pin 300/5/email", got)
		}
		h.Admin(http.MethodPatch, "/v1/admin/systems/vpn", req{"sensitivity": "high"}, http.StatusOK)
	})
	t.Run("the effective field is read only", func(t *testing.T) {
		res := h.Do(http.MethodPatch, "/v1/admin/systems/vpn", h.AdminKey, req{"effective": req{"methods": []any{}}})
		wantError(t, res, http.StatusBadRequest, `unknown field "effective"`)
	})
	t.Run("the account's settings count: with email off, links go by SMS", func(t *testing.T) {
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_login": false}, http.StatusOK)
		defer h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_login": true}, http.StatusOK)
		got := effectiveOf(t, adminAs[apitest.System](h, http.MethodGet, "/v1/admin/systems/mail", nil, http.StatusOK))
		if got["passwordless"] != "300/5/sms" {
			t.Fatalf("mail with email login off: effective %v, want passwordless 300/5/sms", got)
		}
	})
	t.Run("an uploaded policy decides them", func(t *testing.T) {
		v := store.PolicyVersion{AccountID: deploytest.Account, Rego: closedVPNPolicy, Tests: closedVPNTests, CreatedAt: time.Now().UTC(), CreatedBy: "test"}
		if err := h.Store.CreatePolicyVersion(context.Background(), &v); err != nil {
			t.Fatal(err)
		}
		for _, sys := range adminAs[apitest.Systems](h, http.MethodGet, "/v1/admin/systems", nil, http.StatusOK).Systems {
			got := effectiveOf(t, sys)
			if v := sys.Effective.PolicyVersion; v != 1 {
				t.Fatalf("%s: policy_version = %v, want 1", sys.Name, v)
			}
			switch sys.Name {
			case "vpn":
				if got["pin"] != "denied" {
					t.Fatalf("vpn under the closed-vpn policy: effective %v, want pin denied", got)
				}
				reasons := sys.Effective.Methods[0].Reasons
				if fmt.Sprint(reasons) != "[vpn is closed by the uploaded policy]" {
					t.Fatalf("vpn's denial reasons = %v", reasons)
				}
			case "wiki":
				if got["passwordless"] != "120/3/email" || got["totp"] != "120/3/" {
					t.Fatalf("wiki under the closed-vpn policy: effective %v, want 120 s and 3 codes", got)
				}
			}
		}
		h.Admin(http.MethodPost, "/v1/admin/policy/rollback", req{"version": 0}, http.StatusOK)
	})
}

func TestPolicyEffectivePerSensitivity(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})

	levels := adminAs[apitest.PolicyEffective](h, http.MethodGet, "/v1/admin/policy/effective?methods=pin,totp&ttl_seconds=900", nil, http.StatusOK).Sensitivities
	want := []struct{ sensitivity, pin, totp string }{
		{"low", "600/5/email", "900/5/"},
		{"medium", "300/5/email", "300/5/"},
		{"high", "120/3/sms", "120/3/"},
	}
	if len(levels) != len(want) {
		t.Fatalf("sensitivities = %v, want low, medium, high", levels)
	}
	for i, w := range want {
		level := levels[i]
		got := effectiveDecisions(t, level.Sensitivity, &level.Effective)
		if level.Sensitivity != w.sensitivity || got["pin"] != w.pin || got["totp"] != w.totp {
			t.Errorf("level %d = %v %v, want %s: pin %s, totp %s", i, level.Sensitivity, got, w.sensitivity, w.pin, w.totp)
		}
	}

	// The system's name reaches the policy: the closed-vpn policy denies vpn.
	v := store.PolicyVersion{AccountID: deploytest.Account, Rego: closedVPNPolicy, Tests: closedVPNTests, CreatedAt: time.Now().UTC(), CreatedBy: "test"}
	if err := h.Store.CreatePolicyVersion(context.Background(), &v); err != nil {
		t.Fatal(err)
	}
	for name, wantPIN := range map[string]string{"vpn": "denied", "wiki": "120/3/email"} {
		out := adminAs[apitest.PolicyEffective](h, http.MethodGet, "/v1/admin/policy/effective?methods=pin&system="+name, nil, http.StatusOK)
		for _, level := range out.Sensitivities {
			if got := effectiveDecisions(t, name, &level.Effective); got["pin"] != wantPIN {
				t.Fatalf("%s under the closed-vpn policy: %v, want pin %s", name, got, wantPIN)
			}
		}
	}

	for _, c := range []struct{ name, query, want string }{
		{"no methods", "", "methods must name at least one"},
		{"an unknown method", "methods=pin,fax", `unknown method "fax"`},
		{"a method twice", "methods=pin,pin", `method "pin" is listed twice`},
		{"a validity too short", "methods=pin&ttl_seconds=10", "ttl_seconds must be an integer between 30 and 3600"},
		{"a validity that is not a number", "methods=pin&ttl_seconds=x", "ttl_seconds must be an integer"},
		{"a bad system name", "methods=pin&system=a%20b", "may hold only letters"},
	} {
		t.Run("refused: "+c.name, func(t *testing.T) {
			wantError(t, h.Do(http.MethodGet, "/v1/admin/policy/effective?"+c.query, h.AdminKey, nil), http.StatusBadRequest, c.want)
		})
	}
}

// TestEffectiveLimitsOfASlowPolicy: a policy that takes too long to decide
// does not hold the systems list up: it answers within its bound, every
// system saying that the policy took too long.
func TestEffectiveLimitsOfASlowPolicy(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	for _, name := range []string{"wiki", "mail"} {
		h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": name, "methods": []string{"pin", "passwordless"}}, http.StatusCreated)
	}
	v := store.PolicyVersion{AccountID: deploytest.Account, Rego: slowAtSignInPolicy, Tests: closedVPNTests, CreatedAt: time.Now().UTC(), CreatedBy: "test"}
	if err := h.Store.CreatePolicyVersion(context.Background(), &v); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	systems := adminAs[apitest.Systems](h, http.MethodGet, "/v1/admin/systems", nil, http.StatusOK).Systems
	if took := time.Since(began); took > 6*time.Second {
		t.Errorf("the systems list took %s with a slow policy, want its 3 s bound and little more", took)
	}
	if len(systems) != 2 {
		t.Fatalf("systems = %v", systems)
	}
	for _, sys := range systems {
		eff := sys.Effective
		if eff == nil || eff.Error != "the policy took too long to decide; reload to see what it decides" || len(eff.Methods) != 0 {
			t.Errorf("%v: effective = %+v, want the policy's slowness and no decisions", sys.Name, eff)
		}
	}
}
