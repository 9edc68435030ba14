package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/store"
)

// TestControlCharactersAreRefused: an authid, system or account holding a
// control character or broken UTF-8 is a client mistake, answered 400
// with what is wrong (as the admin API answers it) before any attempt,
// lookup or audit event; it used to reach the workflow and the database
// (500 on PostgreSQL for NUL) and leave an unaudited attempt behind.
func TestControlCharactersAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("wiki", []string{"passwordless"}, "low", "alice", "passwordless")
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "console", "methods": []string{"passwordless"}, "sensitivity": "medium"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/alice/systems", req{"assignments": []req{
		{"system": "wiki", "method": "passwordless"}, {"system": "console", "method": "passwordless"},
	}}, http.StatusOK)
	auditBefore := auditCount(t, h)

	// Values as JSON text: a raw DEL and a raw U+0085 are valid JSON; a raw
	// 0xFF byte and a lone surrogate are what encoding/json turns into
	// U+FFFD.
	values := []struct {
		name, json, problem string
	}{
		{"NUL", `"al\u0000ice"`, "must not contain control characters"},
		{"a newline", `"al\nice"`, "must not contain control characters"},
		{"DEL", "\"al\x7fice\"", "must not contain control characters"},
		{"C1 NEL", "\"al\u0085ice\"", "must not contain control characters"},
		{"C1 as an escape", `"al\u009bice"`, "must not contain control characters"},
		{"invalid UTF-8", "\"al\xffice\"", "must be valid UTF-8"},
		{"a lone surrogate", `"al\ud800ice"`, "must be valid UTF-8"},
	}
	routes := []struct {
		path, key string
		fields    []string // JSON fields; each is tried in turn with the bad value
		good      map[string]string
	}{
		{"/v1/start", h.AppKey, []string{"authid", "system"}, map[string]string{"system": `"wiki"`, "authid": `"alice"`}},
		{"/v1/check", h.AppKey, []string{"authid", "system"}, map[string]string{"system": `"wiki"`, "authid": `"alice"`}},
		{"/v1/admin/session", "", []string{"account", "authid"}, map[string]string{"account": `"acme"`, "authid": `"alice"`}},
	}
	for _, rt := range routes {
		for _, field := range rt.fields {
			for _, v := range values {
				t.Run(rt.path+" "+field+" with "+v.name, func(t *testing.T) {
					body := "{"
					for _, f := range []string{"account", "system", "authid"} {
						val, ok := rt.good[f]
						if !ok {
							continue
						}
						if f == field {
							val = v.json
						}
						if body != "{" {
							body += ","
						}
						body += `"` + f + `":` + val
					}
					body += "}"
					res := h.Do(http.MethodPost, rt.path, rt.key, body)
					want := `{"error":"` + field + " " + v.problem + `"}`
					if res.Status != http.StatusBadRequest || res.Body != want {
						t.Fatalf("POST %s %q = %d %s, want 400 %s", rt.path, body, res.Status, res.Body, want)
					}
				})
			}
		}
	}

	if got := auditCount(t, h); got != auditBefore {
		t.Fatalf("%d audit events after the refusals, want %d: a refused request must leave none", got, auditBefore)
	}
	if n := attemptCount(t, h); n != 0 {
		t.Fatalf("%d attempts after the refusals, want none", n)
	}
	// The counters see attempts: a well-formed start is one.
	h.Start("wiki", "alice")
	if n := attemptCount(t, h); n != 1 {
		t.Fatalf("%d attempts after one start, want 1", n)
	}
}

// TestAdminRefusesBrokenUTF8InAuthID: the admin API refuses what the app
// API refuses, so that no user is created whom no application could name.
func TestAdminRefusesBrokenUTF8InAuthID(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	for _, body := range []string{"{\"authid\":\"al\xffice\"}", `{"authid":"al\ud800ice"}`, `{"authid":"al\ufffdice"}`} {
		wantError(t, h.Do(http.MethodPost, "/v1/admin/users", h.AdminKey, body), http.StatusBadRequest, "authid must be valid UTF-8")
	}
}

func auditCount(t *testing.T, h *harness) int {
	t.Helper()
	events, err := h.Store.ListAudit(context.Background(), store.AuditFilter{AccountID: deploytest.Account, Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

func attemptCount(t *testing.T, h *harness) int {
	t.Helper()
	days, err := h.Store.AttemptsByDay(context.Background(), deploytest.Account, time.Now().Add(-48*time.Hour), store.SystemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range days {
		n += d.Count
	}
	return n
}
