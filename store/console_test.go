package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestConsoleSessions(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, u := seed(t, s)
		now := time.Now().UTC().Truncate(time.Microsecond)
		console := store.System{ID: "sys-console", AccountID: acc.ID, Name: "console", Methods: []string{"pin"},
			Sensitivity: "medium", TTLSeconds: 300, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateSystem(ctx, &console))

		if _, err := s.ConsoleUser(ctx, u.ID, "console"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unassigned user is a console user: err = %v", err)
		}
		must(t, s.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: console.ID, Method: "pin"}}))
		if got, err := s.ConsoleUser(ctx, u.ID, "console"); err != nil || got.AuthID != "alice" {
			t.Fatalf("assigned user: %+v, %v", got, err)
		}

		if _, err := s.ConsoleSignInUsedAt(ctx, "att1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an attempt that opened no session: err = %v, want ErrNotFound", err)
		}
		sess := store.ConsoleSession{ID: "digest1", AccountID: acc.ID, UserID: u.ID, AuthID: u.AuthID, AttemptID: "att1",
			SignedInAt: now, LastSeenAt: now, ExpiresAt: now.Add(12 * time.Hour), IP: "203.0.113.9", UserAgent: "test"}
		ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "console.signed_in", AuthID: u.AuthID}
		must(t, s.CreateConsoleSession(ctx, &sess, now.Add(-30*time.Minute), ev))
		if at, err := s.ConsoleSignInUsedAt(ctx, "att1"); err != nil || !at.Equal(now) {
			t.Fatalf("attempt used at %v, %v; want %v", at, err, now)
		}
		again := sess
		again.ID = "digest2"
		if err := s.CreateConsoleSession(ctx, &again, now.Add(-30*time.Minute), ev); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a second session from one sign-in attempt: err = %v, want ErrConflict", err)
		}
		got, err := s.GetConsoleSession(ctx, "digest1")
		must(t, err)
		if got.AuthID != "alice" || !got.SignedInAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(12*time.Hour)) {
			t.Fatalf("session = %+v", got)
		}
		must(t, s.TouchConsoleSession(ctx, "digest1", now.Add(time.Minute)))
		if got, _ := s.GetConsoleSession(ctx, "digest1"); !got.LastSeenAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("last seen = %v", got.LastSeenAt)
		}

		u.Status = store.UserDisabled
		must(t, s.UpdateUserProfile(ctx, &u))
		if _, err := s.ConsoleUser(ctx, u.ID, "console"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("disabled user is a console user: err = %v", err)
		}

		must(t, s.DeleteConsoleSession(ctx, "digest1", store.AuditEvent{AccountID: acc.ID, Time: now, Type: "console.signed_out"}))
		if _, err := s.GetConsoleSession(ctx, "digest1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted session: err = %v", err)
		}
		if err := s.DeleteConsoleSession(ctx, "digest1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting twice: err = %v", err)
		}
		// Signed out, the attempt still cannot open another session.
		if err := s.CreateConsoleSession(ctx, &again, now.Add(-30*time.Minute)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("reusing a signed-out attempt: err = %v, want ErrConflict", err)
		}
		events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "console.signed_in"})
		must(t, err)
		if len(events) != 1 {
			t.Fatalf("signed_in events = %d, want 1 (refused sessions are not audited)", len(events))
		}
	})
}

func TestRecoveryCodes(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, u := seed(t, s)
		now := time.Now().UTC()
		codes := []store.RecoveryCode{
			{ID: "c1", UserID: u.ID, Digest: "d1", CreatedAt: now},
			{ID: "c2", UserID: u.ID, Digest: "d2", CreatedAt: now},
		}
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, codes))
		ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "recovery_code.used", AuthID: u.AuthID}
		ok, err := s.UseRecoveryCode(ctx, "c1", now, ev)
		must(t, err)
		if !ok {
			t.Fatal("first use refused")
		}
		if ok, err := s.UseRecoveryCode(ctx, "c1", now, ev); err != nil || ok {
			t.Fatalf("second use = %v, %v; want refused", ok, err)
		}
		left, err := s.UnusedRecoveryCodes(ctx, u.ID)
		must(t, err)
		if len(left) != 1 || left[0].ID != "c2" || left[0].Digest != "d2" {
			t.Fatalf("unused = %+v", left)
		}
		if n, err := s.CountUnusedRecoveryCodes(ctx, u.ID); err != nil || n != 1 {
			t.Fatalf("count = %d, %v", n, err)
		}
		events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "recovery_code.used"})
		must(t, err)
		if len(events) != 1 {
			t.Fatalf("recovery_code.used events = %d, want 1", len(events))
		}

		// Codes stored sealed by earlier versions are converted to digests.
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, []store.RecoveryCode{
			{ID: "old1", UserID: u.ID, Sealed: []byte("s1"), CreatedAt: now},
			{ID: "new1", UserID: u.ID, Digest: "dn", CreatedAt: now},
		}))
		convert := func(userID string, sealed []byte) (string, error) { return userID + ":" + string(sealed), nil }
		if n, err := s.ConvertSealedRecoveryCodes(ctx, convert); err != nil || n != 1 {
			t.Fatalf("converted %d, %v; want 1", n, err)
		}
		if n, err := s.ConvertSealedRecoveryCodes(ctx, convert); err != nil || n != 0 {
			t.Fatalf("converted again %d, %v; want 0", n, err)
		}
		left, err = s.UnusedRecoveryCodes(ctx, u.ID)
		must(t, err)
		if len(left) != 2 || left[0].Digest != "dn" || left[1].Digest != u.ID+":s1" || left[1].Sealed != nil {
			t.Fatalf("after conversion: %+v", left)
		}

		must(t, s.ActivateTOTP(ctx, u.ID, []byte("sealed"), 5, now))
		must(t, s.ResetTwoFactor(ctx, u.ID, now))
		got, err := s.GetUser(ctx, acc.ID, u.AuthID)
		must(t, err)
		if got.TOTPEnabled || got.TOTPSecret != nil || got.TOTPPending != nil {
			t.Fatalf("after reset: enabled=%v secret=%v pending=%v", got.TOTPEnabled, got.TOTPSecret, got.TOTPPending)
		}
		if n, _ := s.CountUnusedRecoveryCodes(ctx, u.ID); n != 0 {
			t.Fatalf("codes left after reset = %d", n)
		}
	})
}

func TestConsoleReports(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, _ := seed(t, s)
		today := time.Now().UTC().Truncate(24 * time.Hour)
		yesterday := today.Add(-24 * time.Hour)
		add := func(id, method, state string, started time.Time) {
			t.Helper()
			a := store.Attempt{ID: id, AccountID: acc.ID, System: "vpn", AuthID: "alice", WorkflowID: "wf", RunID: "run",
				State: store.AttemptPending, Method: method, StartedAt: started, UpdatedAt: started}
			_, err := s.InsertAttempt(ctx, &a)
			must(t, err)
			if state != store.AttemptPending {
				_, err := s.PublishAttempt(ctx, id, store.AttemptUpdate{State: state, At: started.Add(time.Minute)})
				must(t, err)
			}
		}
		add("a1", "pin", store.AttemptAuthenticated, yesterday.Add(23*time.Hour+58*time.Minute))
		add("a2", "pin", store.AttemptExpired, yesterday.Add(time.Hour))
		add("a3", "passwordless", store.AttemptAuthenticated, today.Add(30*time.Second))
		add("a4", "pin", store.AttemptAuthenticated, today.Add(2*time.Hour))
		add("a5", "pin", store.AttemptPending, today.Add(3*time.Hour))
		add("old", "pin", store.AttemptDenied, yesterday.Add(-time.Second))

		rows, err := s.AttemptsByDay(ctx, acc.ID, yesterday, store.SystemFilter{})
		must(t, err)
		got := map[string]int{}
		for _, r := range rows {
			got[r.Day+" "+r.State] = r.Count
		}
		y, d := yesterday.Format("2006-01-02"), today.Format("2006-01-02")
		want := map[string]int{y + " authenticated": 1, y + " expired": 1, d + " authenticated": 2, d + " pending": 1}
		if len(got) != len(want) {
			t.Fatalf("by day = %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("by day = %v, want %v", got, want)
			}
		}

		logins, err := s.LoginsByMethod(ctx, acc.ID, "alice")
		must(t, err)
		if len(logins) != 2 || logins[0].Method != "passwordless" || logins[0].Logins != 1 ||
			logins[1].Method != "pin" || logins[1].Logins != 2 {
			t.Fatalf("logins by method = %+v", logins)
		}
		if logins[1].LastLoginAt == nil || !logins[1].LastLoginAt.Equal(today.Add(2*time.Hour+time.Minute)) {
			t.Fatalf("last pin login = %v, want %v", logins[1].LastLoginAt, today.Add(2*time.Hour+time.Minute))
		}
		atts, err := s.UserAttempts(ctx, acc.ID, "alice", 2)
		must(t, err)
		if len(atts) != 2 || atts[0].ID != "a5" || atts[1].ID != "a4" {
			t.Fatalf("latest attempts = %+v", atts)
		}

		// A system filter keeps one system, or all but one.
		for _, c := range []struct {
			f    store.SystemFilter
			want int
		}{{store.SystemFilter{Name: "vpn"}, 4}, {store.SystemFilter{Name: "vpn", Exclude: true}, 0}, {store.SystemFilter{Name: "mail"}, 0}} {
			rows, err := s.AttemptsByDay(ctx, acc.ID, yesterday, c.f)
			must(t, err)
			if len(rows) != c.want {
				t.Fatalf("by day with %+v = %v, want %d rows", c.f, rows, c.want)
			}
		}

		must(t, s.AppendAudit(ctx,
			store.AuditEvent{AccountID: acc.ID, Time: today, Type: "attempt.denied", System: "vpn"},
			store.AuditEvent{AccountID: acc.ID, Time: today, Type: "attempt.authenticated", System: "vpn"},
			store.AuditEvent{AccountID: acc.ID, Time: today, Type: "code.rejected", System: "console"},
		))
		evs, err := s.RecentAuditOfTypes(ctx, acc.ID, []string{"attempt.denied", "code.rejected"}, store.SystemFilter{}, 10)
		must(t, err)
		if len(evs) != 2 || evs[0].Type != "code.rejected" || evs[1].Type != "attempt.denied" {
			t.Fatalf("recent failures = %+v", evs)
		}
		evs, err = s.RecentAuditOfTypes(ctx, acc.ID, []string{"attempt.denied", "code.rejected"}, store.SystemFilter{Name: "console", Exclude: true}, 10)
		must(t, err)
		if len(evs) != 1 || evs[0].Type != "attempt.denied" {
			t.Fatalf("recent failures but the console's = %+v", evs)
		}
		evs, err = s.RecentAuditOfTypes(ctx, acc.ID, []string{"attempt.denied", "code.rejected"}, store.SystemFilter{Name: "console"}, 10)
		must(t, err)
		if len(evs) != 1 || evs[0].Type != "code.rejected" {
			t.Fatalf("recent failures of the console = %+v", evs)
		}

		for _, id := range []string{"bob", "carol"} {
			must(t, s.CreateUser(ctx, &store.User{ID: "u-" + id, AccountID: acc.ID, AuthID: id, Status: store.UserActive,
				CreatedAt: today, UpdatedAt: today}))
		}
		if n, err := s.CountUsers(ctx, store.UserFilter{AccountID: acc.ID, Limit: 1}); err != nil || n != 3 {
			t.Fatalf("count users = %d, %v; want 3", n, err)
		}
		if n, err := s.CountUsers(ctx, store.UserFilter{AccountID: acc.ID, Search: "CAR"}); err != nil || n != 1 {
			t.Fatalf("count users matching CAR = %d, %v; want 1", n, err)
		}
	})
}
