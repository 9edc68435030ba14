package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// The administrator's view of how a user signs in: per method, how many
// sign-ins, the last one and its address; the directory profile a single
// sign-on brought; when two-factor was last enrolled or reset.

func TestLoginsByMethodCountsAuthenticatedAttemptsPerMethod(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, _ := seed(t, s)
		other := store.Account{ID: "acc2", Name: "Other", CreatedAt: time.Now().UTC()}
		must(t, s.CreateAccount(ctx, &other))
		base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		n := 0
		add := func(account, authid, method, state, ip string, completed time.Duration) {
			t.Helper()
			n++
			started := base.Add(completed - time.Minute)
			a := store.Attempt{ID: "att" + string(rune('A'+n)), AccountID: account, System: "vpn", AuthID: authid,
				WorkflowID: "wf", RunID: "run", State: state, Method: method, IP: ip, UserAgent: "test",
				StartedAt: started, UpdatedAt: started}
			if state != store.AttemptPending {
				at := base.Add(completed)
				a.CompletedAt = &at
			}
			_, err := s.InsertAttempt(ctx, &a)
			must(t, err)
		}
		add(acc.ID, "alice", "password", store.AttemptAuthenticated, "198.51.100.1", time.Hour)
		add(acc.ID, "alice", "password", store.AttemptAuthenticated, "198.51.100.2", 3*time.Hour) // the latest password sign-in
		add(acc.ID, "alice", "password", store.AttemptAuthenticated, "198.51.100.3", 2*time.Hour)
		add(acc.ID, "alice", "password", store.AttemptLocked, "203.0.113.66", 4*time.Hour) // not a sign-in
		add(acc.ID, "alice", "sso", store.AttemptAuthenticated, "2001:db8::1", 30*time.Minute)
		add(acc.ID, "alice", "pin", store.AttemptExpired, "198.51.100.9", 5*time.Hour)
		add(acc.ID, "alice", "pin", store.AttemptPending, "198.51.100.9", 6*time.Hour)
		add(acc.ID, "alice", "passwordless", store.AttemptDenied, "198.51.100.9", 6*time.Hour)
		add(acc.ID, "bob", "password", store.AttemptAuthenticated, "192.0.2.7", 9*time.Hour)       // another user
		add(other.ID, "alice", "totp", store.AttemptAuthenticated, "192.0.2.8", 9*time.Hour)       // another account's alice
		add(acc.ID, "Alice", "passwordless", store.AttemptAuthenticated, "192.0.2.9", 9*time.Hour) // authids are exact

		got, err := s.LoginsByMethod(ctx, acc.ID, "alice")
		must(t, err)
		at := func(d time.Duration) *time.Time { v := base.Add(d); return &v }
		want := []store.MethodLogins{
			{Method: "password", Logins: 3, LastLoginAt: at(3 * time.Hour), LastIP: "198.51.100.2"},
			{Method: "sso", Logins: 1, LastLoginAt: at(30 * time.Minute), LastIP: "2001:db8::1"},
		}
		if len(got) != len(want) {
			t.Fatalf("logins by method = %+v, want %+v", got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Method != w.Method || g.Logins != w.Logins || g.LastIP != w.LastIP || g.LastLoginAt == nil || !g.LastLoginAt.Equal(*w.LastLoginAt) {
				t.Errorf("method %d = %+v (last %v), want %+v (last %v)", i, g, g.LastLoginAt, w, w.LastLoginAt)
			}
		}

		none, err := s.LoginsByMethod(ctx, acc.ID, "carol")
		must(t, err)
		if len(none) != 0 {
			t.Errorf("a user who never signed in: %+v, want none", none)
		}
	})
}

// The aggregation is one query on the partial index of authenticated
// attempts, not a scan of every attempt.
func TestLoginsByMethodUsesTheIndex(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		plan, err := s.ExplainLoginsByMethod(context.Background(), "acc1", "alice")
		must(t, err)
		if !strings.Contains(plan, "attempts_user_logins") {
			t.Fatalf("plan does not use attempts_user_logins:\n%s", plan)
		}
		t.Logf("plan:\n%s", plan)
	})
}

func TestSSOProfileBelongsToTheBoundIdentity(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, u := seed(t, s)
		now := time.Now().UTC().Truncate(time.Second)
		const iss, sub = "https://login.microsoftonline.com/t1/v2.0", "oid-1"
		load := func() store.User {
			t.Helper()
			got, err := s.UserByID(ctx, u.ID)
			must(t, err)
			return got
		}
		profile := func(got store.User) string {
			at := "never"
			if got.SSOProfileAt != nil {
				at = got.SSOProfileAt.UTC().Format(time.RFC3339)
			}
			return strings.Join([]string{got.SSOProvider, got.SSOPosition, got.SSOPhone, at}, "|")
		}
		read := store.SSOProfile{Provider: "entra", Read: true, Position: "Marketing Manager", Phone: "+1 412 555 0109"}

		// Nothing is recorded on a user without that identity.
		if ok, err := s.RecordSSOProfile(ctx, u.ID, iss, sub, read, now); err != nil || ok {
			t.Fatalf("record on an unbound user = %v, %v; want false", ok, err)
		}
		bound, err := s.BindSSO(ctx, u.ID, iss, sub)
		must(t, err)
		if !bound {
			t.Fatal("not bound")
		}
		if ok, err := s.RecordSSOProfile(ctx, u.ID, iss, sub, read, now); err != nil || !ok {
			t.Fatalf("record = %v, %v", ok, err)
		}
		first := "entra|Marketing Manager|+1 412 555 0109|" + now.Format(time.RFC3339)
		if got := profile(load()); got != first {
			t.Fatalf("profile = %s, want %s", got, first)
		}

		// A sign-on that could not read the directory keeps what was read.
		if _, err := s.RecordSSOProfile(ctx, u.ID, iss, sub, store.SSOProfile{Provider: "entra"}, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := profile(load()); got != first {
			t.Fatalf("after an unread profile = %s, want %s", got, first)
		}
		// A read replaces it, emptiness included.
		later := now.Add(2 * time.Hour)
		_, err = s.RecordSSOProfile(ctx, u.ID, iss, sub, store.SSOProfile{Read: true, Phone: "+1 425 555 0105"}, later)
		must(t, err)
		second := "entra||+1 425 555 0105|" + later.Format(time.RFC3339)
		if got := profile(load()); got != second {
			t.Fatalf("after a second read = %s, want %s", got, second)
		}
		// Another identity's sign-on changes nothing here.
		if ok, err := s.RecordSSOProfile(ctx, u.ID, iss, "oid-2", read, later); err != nil || ok {
			t.Fatalf("record of another identity = %v, %v; want false", ok, err)
		}

		// Approving the same identity again keeps the profile; another
		// one clears it, and so does unbinding.
		must(t, s.SetSSOIdentity(ctx, u.ID, iss, sub, later))
		if got := profile(load()); got != second {
			t.Fatalf("after approving the same identity = %s, want %s", got, second)
		}
		must(t, s.SetSSOIdentity(ctx, u.ID, iss, "oid-2", later))
		if got := profile(load()); got != "|||never" {
			t.Fatalf("after approving another identity = %s, want it cleared", got)
		}
		_, err = s.RecordSSOProfile(ctx, u.ID, iss, "oid-2", read, later)
		must(t, err)
		cleared, err := s.ClearSSOIdentity(ctx, u.ID, later)
		must(t, err)
		if got := profile(load()); !cleared || got != "|||never" {
			t.Fatalf("after unbinding = %s (cleared %v), want it cleared", got, cleared)
		}
	})
}

func TestLatestAuditTimes(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, u := seed(t, s)
		base := u.CreatedAt.Truncate(time.Second).Add(time.Hour)
		ev := func(typ, authid string, at time.Time) store.AuditEvent {
			return store.AuditEvent{AccountID: acc.ID, Time: at, Type: typ, AuthID: authid}
		}
		must(t, s.AppendAudit(ctx,
			ev("totp.enrolled", "alice", base.Add(-48*time.Hour)), // before alice was created: another alice
			ev("totp.reset", "alice", base.Add(-48*time.Hour)),
			ev("totp.enrolled", "alice", base),
			ev("totp.enrolled", "alice", base.Add(2*time.Hour)),
			ev("totp.reset", "bob", base.Add(3*time.Hour)),
			ev("user.updated", "alice", base.Add(4*time.Hour)),
		))
		got, err := s.LatestAuditTimes(ctx, acc.ID, "alice", u.CreatedAt, []string{"totp.enrolled", "totp.reset"})
		must(t, err)
		if len(got) != 1 || !got["totp.enrolled"].Equal(base.Add(2*time.Hour)) {
			t.Fatalf("latest = %v, want totp.enrolled at %v only", got, base.Add(2*time.Hour))
		}
	})
}
