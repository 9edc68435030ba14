package api_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
)

func TestPINSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "bob", "pin")
	body := req{"system": "vpn", "authid": "bob"}

	tests := []struct {
		name string
		pin  func(code string) any
	}{
		{"a PIN sent as a string signs in", func(code string) any { return code }},
		{"a PIN sent as a number signs in", func(code string) any {
			n, err := strconv.Atoi(code)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := apitest.ExpectAs[apitest.StartSuccess](h.Client, "/v1/start", body, http.StatusOK, "success")
			if out.Method != "pin" {
				t.Fatalf("start = %v, want method pin", out)
			}
			if exp, err := time.Parse(time.RFC3339, out.ExpiresAt); err != nil || time.Until(exp) <= 0 {
				t.Fatalf("expires_at %v: %v", out.ExpiresAt, err)
			}
			attemptID := out.Attempt
			code := h.outbox.message(t, attemptID).Code
			if len(code) != 8 {
				t.Fatalf("code %q is not 8 digits", code)
			}
			h.Expect("/v1/check", body, http.StatusAccepted, "pending")
			h.Expect("/v1/check", req{"system": "vpn", "authid": "bob", "pin": tt.pin(code)}, http.StatusOK, "authenticated")
			h.Expect("/v1/check", body, http.StatusOK, "authenticated")

			// The audit trail holds the attempt's story, newest first.
			types := h.AuditTypes("attempt=" + attemptID)
			want := []string{attempt.EventAuthenticated, attempt.EventDelivered, attempt.EventDecision, attempt.EventStarted}
			if strings.Join(types, ",") != strings.Join(want, ",") {
				t.Fatalf("audit of attempt = %v, want %v", types, want)
			}
		})
	}
	user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/bob", nil, http.StatusOK)
	if user.LoginCount != 2 || user.LastIP != "127.0.0.1" || user.LastLoginAt == nil {
		t.Fatalf("user after two sign-ins = %v", user)
	}
}

func TestWrongPINsLockTheAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// High sensitivity: the default policy allows three wrong codes.
	h.Setup("vault", []string{"pin"}, "high", "dave", "pin")
	body := req{"system": "vault", "authid": "dave"}
	code := h.outbox.message(t, h.Start("vault", "dave")).Code
	wrong := "00000000"
	if wrong == code {
		wrong = "11111111"
	}
	withPIN := func(pin string) req { return req{"system": "vault", "authid": "dave", "pin": pin} }

	h.Expect("/v1/check", withPIN(wrong), http.StatusForbidden, "security error")
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	h.Expect("/v1/check", withPIN(wrong), http.StatusForbidden, "security error")
	h.Expect("/v1/check", withPIN(wrong), http.StatusForbidden, "security error")

	// Locked: the right PIN is refused, and so is a new start.
	h.Expect("/v1/check", withPIN(code), http.StatusForbidden, "security error")
	h.Expect("/v1/check", body, http.StatusForbidden, "security error")
	if res := h.App("/v1/start", body); res.Status != http.StatusForbidden || res.Body != `{"result":"security error"}` {
		t.Fatalf("start while locked out = %d %s", res.Status, res.Body)
	}
	types := h.AuditTypes("authid=dave&type=" + attempt.EventLocked)
	if len(types) != 1 {
		t.Fatalf("locked events = %v, want one", types)
	}
}

func TestTOTPSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("payroll", []string{"totp", "pin"}, "high", "carol", "totp")
	body := req{"system": "payroll", "authid": "carol"}

	if res := h.Do(http.MethodPost, "/v1/admin/users/carol/totp/verify", h.AdminKey, req{"code": "123456"}); res.Status != http.StatusConflict {
		t.Fatalf("verify with nothing pending = %d %s, want 409", res.Status, res.Body)
	}
	enrol := adminAs[apitest.TOTPEnrolment](h, http.MethodPost, "/v1/admin/users/carol/totp", nil, http.StatusOK)
	uri := enrol.OtpauthURI
	seed := enrol.Secret
	if !strings.HasPrefix(uri, "otpauth://totp/flexauth:carol?") || !strings.Contains(uri, "secret="+seed) || seed == "" {
		t.Fatalf("enrolment = %v", enrol)
	}
	// The codes of this step (to enrol) and the next (to sign in), taken
	// now: the server accepts a step either side of its own, so both stay
	// good if its step moves on meanwhile (an earlier step's code would
	// not), and the test waits for no step.
	step := time.Now().Unix() / attempt.TOTPPeriod
	enrolCode, err := attempt.TOTPCode(seed, time.Unix(step*attempt.TOTPPeriod, 0))
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if wrong == enrolCode {
		wrong = "111111"
	}
	res := h.Do(http.MethodPost, "/v1/admin/users/carol/totp/verify", h.AdminKey, req{"code": wrong})
	if res.Status != http.StatusBadRequest || apitest.Decode[apitest.Error](t, res).Error != "code does not match" {
		t.Fatalf("verify with a wrong code = %d %s", res.Status, res.Body)
	}
	h.Admin(http.MethodPost, "/v1/admin/users/carol/totp/verify", req{"code": enrolCode}, http.StatusOK)
	if user := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/carol", nil, http.StatusOK); !user.TOTPEnabled {
		t.Fatalf("user after enrolment = %v", user)
	}

	out := apitest.ExpectAs[apitest.StartSuccess](h.Client, "/v1/start", body, http.StatusOK, "success")
	if out.Method != "totp" {
		t.Fatalf("start = %v, want method totp", out)
	}
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	// The enrolment code's step is spent: it cannot also sign in.
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": enrolCode}, http.StatusForbidden, "security error")
	code, err := attempt.TOTPCode(seed, time.Unix((step+1)*attempt.TOTPPeriod, 0))
	if err != nil {
		t.Fatal(err)
	}
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": code}, http.StatusOK, "authenticated")

	// Each code signs in once, even in a new attempt.
	h.Start("payroll", "carol")
	h.Expect("/v1/check", req{"system": "payroll", "authid": "carol", "pin": code}, http.StatusForbidden, "security error")
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
}

func TestStartRefusalsAreIndistinguishable(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{startFloor: 40 * time.Millisecond})
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki", "methods": []string{"pin"}}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "unassigned", "email": "u@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "disabled", "email": "d@example.com", "status": "disabled"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/disabled/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)
	// Nobody can deliver to a user without contact data: the policy denies.
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "nocontact"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/nocontact/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)

	tests := []struct {
		name string
		key  string
		body req
	}{
		{"unknown user", h.AppKey, req{"system": "vpn", "authid": "mallory"}},
		{"unknown system", h.AppKey, req{"system": "nope", "authid": "alice"}},
		{"unassigned user", h.AppKey, req{"system": "vpn", "authid": "unassigned"}},
		{"user assigned elsewhere", h.AppKey, req{"system": "wiki", "authid": "alice"}},
		{"disabled user", h.AppKey, req{"system": "vpn", "authid": "disabled"}},
		{"policy denial", h.AppKey, req{"system": "vpn", "authid": "nocontact"}},
		{"bad key", "fa_app_not-a-key", req{"system": "vpn", "authid": "alice"}},
		{"missing key", "", req{"system": "vpn", "authid": "alice"}},
		{"admin key", h.AdminKey, req{"system": "vpn", "authid": "alice"}},
		// Its escaped form is longer than the workflow IDs Temporal accepts.
		{"long non-ASCII authid", h.AppKey, req{"system": "vpn", "authid": strings.Repeat("é", 256)}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is a security error", func(t *testing.T) {
			began := time.Now()
			res := h.Do(http.MethodPost, "/v1/start", tt.key, tt.body)
			took := time.Since(began)
			if res.Status != http.StatusForbidden || res.Body != `{"result":"security error"}` {
				t.Fatalf("start = %d %q", res.Status, res.Body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Fatalf("Content-Type = %q", ct)
			}
			if took < 40*time.Millisecond {
				t.Fatalf("answered in %v, before the 40ms floor", took)
			}
		})
	}
	h.Expect("/v1/start", req{"system": "vpn", "authid": "alice"}, http.StatusOK, "success")

	t.Run("the real reason is in the audit trail", func(t *testing.T) {
		out := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?authid=disabled&type="+attempt.EventDenied, nil, http.StatusOK)
		events := out.Events
		if len(events) != 1 || !strings.Contains(strings.Join(events[0].Reasons, ","), "user is disabled") {
			t.Fatalf("denials of the disabled user = %v", events)
		}
	})
}

func TestCheckAnswers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")

	tests := []struct {
		name       string
		key        string
		body       req
		wantStatus int
		wantResult string
	}{
		{"check before any start is a security error", h.AppKey, req{"system": "vpn", "authid": "alice"}, http.StatusForbidden, "security error"},
		{"check of an unknown user is a security error", h.AppKey, req{"system": "vpn", "authid": "mallory"}, http.StatusForbidden, "security error"},
		{"check with a bad key is a security error", "nope", req{"system": "vpn", "authid": "alice"}, http.StatusForbidden, "security error"},
		{"check with an admin key is a security error", h.AdminKey, req{"system": "vpn", "authid": "alice"}, http.StatusForbidden, "security error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.Do(http.MethodPost, "/v1/check", tt.key, tt.body)
			if got := apitest.Decode[apitest.Result](t, res).Result; res.Status != tt.wantStatus || got != tt.wantResult {
				t.Fatalf("check = %d %s, want %d %q", res.Status, res.Body, tt.wantStatus, tt.wantResult)
			}
		})
	}

	t.Run("a denied start leaves a security error to check", func(t *testing.T) {
		if res := h.App("/v1/start", req{"system": "vpn", "authid": "mallory"}); res.Status != http.StatusForbidden {
			t.Fatalf("start of an unknown user = %d", res.Status)
		}
		h.Expect("/v1/check", req{"system": "vpn", "authid": "mallory", "pin": "12345678"}, http.StatusForbidden, "security error")
	})
}

func TestBadAppRequests(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{maxBodyBytes: 1024})
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	h.Start("vpn", "alice")

	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantError  string
	}{
		{"malformed JSON", "/v1/start", `{"system":"vpn",`, http.StatusBadRequest, "malformed JSON"},
		{"not JSON at all", "/v1/check", `system=vpn&authid=alice`, http.StatusBadRequest, "malformed JSON"},
		{"empty body", "/v1/start", ``, http.StatusBadRequest, "empty"},
		{"an array body", "/v1/start", `[]`, http.StatusBadRequest, "must be a JSON object"},
		{"two objects", "/v1/check", `{"system":"vpn","authid":"alice"}{}`, http.StatusBadRequest, "single JSON object"},
		{"authid as a number", "/v1/start", `{"system":"vpn","authid":42}`, http.StatusBadRequest, "authid must be a string"},
		{"system as an object", "/v1/check", `{"system":{},"authid":"alice"}`, http.StatusBadRequest, "system must be a string"},
		{"missing authid", "/v1/start", `{"system":"vpn"}`, http.StatusBadRequest, "authid is required"},
		{"empty system", "/v1/check", `{"system":"","authid":"alice"}`, http.StatusBadRequest, "system is required"},
		{"authid over 256 characters", "/v1/start", `{"system":"vpn","authid":"` + strings.Repeat("a", 257) + `"}`, http.StatusBadRequest, "authid must be at most 256"},
		{"system over 100 characters", "/v1/check", `{"system":"` + strings.Repeat("s", 101) + `","authid":"alice"}`, http.StatusBadRequest, "system must be at most 100"},
		{"negative pin", "/v1/check", `{"system":"vpn","authid":"alice","pin":-1234}`, http.StatusBadRequest, "non-negative integer"},
		{"fractional pin", "/v1/check", `{"system":"vpn","authid":"alice","pin":1234.5}`, http.StatusBadRequest, "non-negative integer"},
		{"pin in exponent form", "/v1/check", `{"system":"vpn","authid":"alice","pin":1e7}`, http.StatusBadRequest, "non-negative integer"},
		{"pin with letters", "/v1/check", `{"system":"vpn","authid":"alice","pin":"12ab5678"}`, http.StatusBadRequest, "4 to 18 digits"},
		{"pin too short", "/v1/check", `{"system":"vpn","authid":"alice","pin":"123"}`, http.StatusBadRequest, "4 to 18 digits"},
		{"pin too long", "/v1/check", `{"system":"vpn","authid":"alice","pin":"1234567890123456789"}`, http.StatusBadRequest, "4 to 18 digits"},
		{"attempt with a NUL", "/v1/check", `{"system":"vpn","authid":"alice","attempt":"\u0000"}`, http.StatusBadRequest, "attempt must not contain control characters"},
		{"attempt not UTF-8", "/v1/check", "{\"system\":\"vpn\",\"authid\":\"alice\",\"attempt\":\"a\xffb\"}", http.StatusBadRequest, "attempt must be valid UTF-8"},
		{"pin as a boolean", "/v1/check", `{"system":"vpn","authid":"alice","pin":true}`, http.StatusBadRequest, "pin must be"},
		{"oversized body", "/v1/start", `{"system":"vpn","authid":"alice","pad":"` + strings.Repeat("x", 2048) + `"}`, http.StatusRequestEntityTooLarge, "exceeds 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is a clear 4xx", func(t *testing.T) {
			res := h.Do(http.MethodPost, tt.path, h.AppKey, tt.body)
			got := apitest.Decode[apitest.Error](t, res).Error
			if res.Status != tt.wantStatus || !strings.Contains(got, tt.wantError) {
				t.Fatalf("POST %s %.60q = %d %s, want %d with %q", tt.path, tt.body, res.Status, res.Body, tt.wantStatus, tt.wantError)
			}
		})
	}

	t.Run("oversized body without a length is a clear 413", func(t *testing.T) {
		r, w := io.Pipe()
		go func() {
			_, _ = w.Write([]byte(`{"system":"vpn","authid":"alice","pad":"` + strings.Repeat("x", 4096) + `"}`))
			w.Close()
		}()
		res := h.Do(http.MethodPost, "/v1/check", h.AppKey, r)
		if res.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked oversized body = %d %s", res.Status, res.Body)
		}
	})

	t.Run("unknown fields are allowed", func(t *testing.T) {
		h.Expect("/v1/check", req{"system": "vpn", "authid": "alice", "client": "flexsecure", "version": 2}, http.StatusAccepted, "pending")
	})
	t.Run("a null pin is no pin", func(t *testing.T) {
		h.Expect("/v1/check", req{"system": "vpn", "authid": "alice", "pin": nil}, http.StatusAccepted, "pending")
	})
}
