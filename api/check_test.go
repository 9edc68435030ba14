package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/flexauth/flexauth/store"
)

func TestCheckAnswersFromTheRow(t *testing.T) {
	f := newFixture(t)
	s := f.server(brokenTemporal{err: serviceerror.NewUnavailable("not needed")})
	s.cfg.AuthenticatedGrace = 5 * time.Minute
	now := time.Now().UTC()
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }

	tests := []struct {
		name       string
		state      string
		expiresAt  *time.Time
		completed  *time.Time
		wantStatus int
		wantBody   string
	}{
		{"a pending attempt is pending", store.AttemptPending, at(time.Minute), nil, http.StatusAccepted, `{"result":"pending"}`},
		{"a pending attempt past its deadline is expired", store.AttemptPending, at(-time.Second), nil, http.StatusForbidden, `{"result":"expired"}`},
		{"a fresh success is authenticated", store.AttemptAuthenticated, at(time.Minute), at(-time.Minute), http.StatusOK, `{"result":"authenticated"}`},
		{"a success older than the grace period is expired", store.AttemptAuthenticated, at(time.Minute), at(-(6 * time.Minute)), http.StatusForbidden, `{"result":"expired"}`},
		{"an expired attempt is expired", store.AttemptExpired, at(-time.Minute), at(-time.Minute), http.StatusForbidden, `{"result":"expired"}`},
		{"a locked attempt is a security error", store.AttemptLocked, at(time.Minute), at(-time.Second), http.StatusForbidden, `{"result":"security error"}`},
		{"a denied attempt is a security error", store.AttemptDenied, nil, at(-time.Second), http.StatusForbidden, `{"result":"security error"}`},
		{"a superseded attempt is a security error", store.AttemptCancelled, at(time.Minute), at(-time.Second), http.StatusForbidden, `{"result":"security error"}`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authid := "user" + string(rune('a'+i))
			_, err := f.st.InsertAttempt(context.Background(), &store.Attempt{
				ID: "row-" + authid, AccountID: "acme", System: "crm", AuthID: authid, WorkflowID: "wf-" + authid,
				RunID: "run", State: tt.state, Method: "pin", StartedAt: now.Add(-10 * time.Minute),
				ExpiresAt: tt.expiresAt, CompletedAt: tt.completed, UpdatedAt: now,
			})
			must(t, err)
			rec := f.post(t, s.Handler(), "/v1/check", `{"system":"crm","authid":"`+authid+`"}`)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Fatalf("check = %d %s, want %d %s", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestCodeForAFinishedRunIsAnsweredFromTheRow(t *testing.T) {
	f := newFixture(t)
	// The run locked the attempt and completed just before the code
	// arrived.
	lock := func() {
		_, err := f.st.PublishAttempt(context.Background(), f.pinID, store.AttemptUpdate{State: store.AttemptLocked, At: time.Now().UTC()})
		must(t, err)
	}
	h := f.server(brokenTemporal{err: serviceerror.NewNotFound("workflow execution already completed"), before: lock}).Handler()
	rec := f.post(t, h, "/v1/check", `{"system":"vpn","authid":"bob","pin":12345678}`)
	if rec.Code != http.StatusForbidden || rec.Body.String() != `{"result":"security error"}` {
		t.Fatalf("check = %d %s, want the locked row's security error", rec.Code, rec.Body.String())
	}
}

func TestPINCodes(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		digits int
		want   string
	}{
		{"a number regains the leading zeros JSON dropped", `123`, 8, "00000123"},
		{"a TOTP number is padded to 6 digits", `42`, 6, "000042"},
		{"a full-length number is kept", `87654321`, 8, "87654321"},
		{"a longer number is not cut", `1234567890`, 8, "1234567890"},
		{"a string is used as typed", `"0123"`, 8, "0123"},
		{"surrounding spaces in a string are dropped", `" 012345 "`, 6, "012345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p pinInput
			if err := p.UnmarshalJSON([]byte(tt.json)); err != nil {
				t.Fatal(err)
			}
			if got := p.code(tt.digits); !p.set || got != tt.want {
				t.Fatalf("code = %q (set %v), want %q", got, p.set, tt.want)
			}
		})
	}
}
