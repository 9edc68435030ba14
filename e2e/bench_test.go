package e2e

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/password"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// The benchmarks below measure the two hot paths of an attempt on real
// parts (PostgreSQL, Temporal, the plugin process) and the design choice
// behind check: answering polls from the attempt row instead of a Temporal
// query per poll.
//
//	go test -run '^$' -bench . -benchtime 200x ./e2e/

func BenchmarkCheckPending(b *testing.B) {
	h := newHarness(b)
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	body := req{"system": "vpn", "authid": "alice"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	b.ResetTimer()
	for b.Loop() {
		if res := h.App("/v1/check", body); res.Status != http.StatusAccepted {
			b.Fatalf("check = %d %s", res.Status, res.Body)
		}
	}
}

// BenchmarkCheckPendingParallel polls check from 8 clients at once and
// reports the PostgreSQL sessions opened per poll: with a pool that keeps
// its connections, next to none.
func BenchmarkCheckPendingParallel(b *testing.B) {
	h := newHarness(b)
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	body := req{"system": "vpn", "authid": "alice"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	before := pgSessions(b, h.dsn)
	b.SetParallelism(4) // 8 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := h.App("/v1/check", body); res.Status != http.StatusAccepted {
				b.Errorf("check = %d %s", res.Status, res.Body)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(pgSessions(b, h.dsn)-before)/float64(b.N), "pg-sessions/op")
}

// pgSessions is how many sessions PostgreSQL has opened on dsn's database
// so far (its statistics lag by up to a second: wait for them).
func pgSessions(b *testing.B, dsn string) int64 {
	b.Helper()
	time.Sleep(1100 * time.Millisecond)
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT sessions FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		b.Fatalf("read pg_stat_database: %v", err)
	}
	return n
}

func BenchmarkQueryAttemptState(b *testing.B) {
	h := newHarness(b)
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	h.Expect("/v1/start", req{"system": "vpn", "authid": "alice"}, http.StatusOK, "success")
	id := h.workflowID("vpn", "alice")
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		v, err := h.Temporal.QueryWorkflow(ctx, id, "", workflows.QueryState)
		if err != nil {
			b.Fatal(err)
		}
		var st workflows.State
		if err := v.Get(&st); err != nil || st.State != workflows.StatePending {
			b.Fatalf("state = %+v, %v", st, err)
		}
	}
}

func BenchmarkStart(b *testing.B) {
	h := newHarness(b, withoutStartLimits())
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	body := req{"system": "vpn", "authid": "alice"}
	b.ResetTimer()
	for b.Loop() {
		// Each start supersedes the previous attempt, as a user retrying does.
		if res := h.App("/v1/start", body); res.Status != http.StatusOK {
			b.Fatalf("start = %d %s", res.Status, res.Body)
		}
	}
}

// BenchmarkPasswordStep measures a password sign-in's first two steps on
// real parts: start (method password, the page URL answered) and the
// password posted to the hosted page, checked against a real argon2id hash
// (OWASP parameters) by the worker, up to the TOTP step. The code step
// after it costs what a TOTP check through the app API does.
func BenchmarkPasswordStep(b *testing.B) {
	h := newHarness(b, withoutStartLimits(), withRealPasswords())
	h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, http.StatusOK)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "portal", "methods": []string{"password"}, "sensitivity": "low"}, http.StatusCreated)
	hash, err := password.Hash("correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "ada", "email": "ada@example.com"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/ada/systems", req{"assignments": []req{{"system": "portal", "method": "password"}}}, http.StatusOK)
	// The password and an enrolled app, written directly: the benchmark is
	// about signing in, not setting up.
	_, err = h.Store.DB().NewUpdate().Model((*store.User)(nil)).Set("email_password_login = ?", true).Set("password_hash = ?", hash).
		Set("totp_enabled = ?", true).Where("account_id = ? AND authid = ?", "acme", "ada").Exec(ctx)
	if err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	form := url.Values{"step": {"password"}, "password": {"correct horse battery"}}.Encode()
	b.ResetTimer()
	for b.Loop() {
		out := apitest.ExpectAs[apitest.StartSuccess](h.Client, "/v1/start", req{"system": "portal", "authid": "ada"}, http.StatusOK, "success")
		r, _ := http.NewRequest(http.MethodPost, out.URL, strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", h.URL)
		res, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Two-step verification") {
			b.Fatalf("password step = %d %s", res.StatusCode, body)
		}
	}
}
