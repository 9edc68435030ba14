package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// passwordUser creates a user of the account with email and password
// sign-in on (the account's must be on).
func passwordUser(t *testing.T, s *store.Store, accountID, authid string, at time.Time) store.User {
	t.Helper()
	u := store.User{ID: accountID + "-" + authid, AccountID: accountID, AuthID: authid, Email: authid + "@example.com",
		Status: store.UserActive, EmailPasswordLogin: true, CreatedAt: at, UpdatedAt: at}
	must(t, s.ApplyUserChanges(context.Background(), accountID, []store.UserChange{{User: u, Create: true, EnablesPasswordLogin: true}}))
	return u
}

// passwordAccount creates an account with email and password sign-in on.
func passwordAccount(t *testing.T, s *store.Store, id string, at time.Time) store.Account {
	t.Helper()
	acc := store.Account{ID: id, Name: id, CreatedAt: at}
	must(t, s.CreateAccount(context.Background(), &acc))
	on := store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}
	must(t, updateSettings(s, id, acc.Settings(), on))
	acc.EmailDelivery, acc.EmailPasswordLogin = true, true
	return acc
}

// giveCredentials stores a password hash (directly, as an older flexauth
// might have left it), an active TOTP seed and recovery codes for u, as
// asked.
func giveCredentials(t *testing.T, s *store.Store, u store.User, password bool, totp string, codes int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if password {
		_, err := s.DB().NewUpdate().Model((*store.User)(nil)).
			Set("password_hash = ?", "hash-"+u.ID).Set("password_set_at = ?", at).Where("id = ?", u.ID).Exec(ctx)
		must(t, err)
	}
	switch totp {
	case "active":
		must(t, s.SetTOTPPending(ctx, u.ID, []byte("seed"), at))
		must(t, s.ActivateTOTP(ctx, u.ID, []byte("seed"), 1, at))
	case "pending":
		must(t, s.SetTOTPPending(ctx, u.ID, []byte("seed"), at))
	}
	if codes > 0 {
		rc := make([]store.RecoveryCode, codes)
		for i := range rc {
			rc[i] = store.RecoveryCode{ID: fmt.Sprintf("%s-code-%d", u.ID, i), UserID: u.ID, Digest: fmt.Sprintf("%s-digest-%d", u.ID, i), CreatedAt: at}
		}
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, rc))
	}
}

// linkFor requests a link of purpose for u and draws its token.
func linkFor(t *testing.T, s *store.Store, u store.User, purpose, id string, at time.Time) store.CredentialLink {
	t.Helper()
	ctx := context.Background()
	l := store.CredentialLink{ID: id, AccountID: u.AccountID, UserID: u.ID, Purpose: purpose, CreatedAt: at}
	u.UpdatedAt = at
	must(t, s.ApplyUserChanges(ctx, u.AccountID, []store.UserChange{{User: u, IssueLink: &l}}))
	drawn, err := s.DrawCredentialLink(ctx, id, "digest-"+id, []byte("sealed"), at.Add(time.Hour))
	must(t, err)
	return drawn
}

// credentials is what a user holds, as the tests compare it.
type credentials struct {
	password, totp, pending, switchOn bool
	codes                             int
}

func credentialsOf(t *testing.T, s *store.Store, u store.User) credentials {
	t.Helper()
	got, err := s.UserByID(context.Background(), u.ID)
	must(t, err)
	codes, err := s.CountUnusedRecoveryCodes(context.Background(), u.ID)
	must(t, err)
	return credentials{password: got.PasswordHash != "", totp: got.TOTPSecret != nil && got.TOTPEnabled, pending: got.TOTPPending != nil,
		switchOn: got.EmailPasswordLogin, codes: codes}
}

func TestMigrationKeepsCredentialLinks(t *testing.T) {
	eachEmptyDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.MigrateUntil(ctx, "20261207000001"))
		now := time.Now().UTC().Truncate(time.Second)
		_, err := s.DB().ExecContext(ctx, "INSERT INTO accounts (id, name, created_at) VALUES ('acc', 'Acc', ?)", now)
		must(t, err)
		_, err = s.DB().ExecContext(ctx, `INSERT INTO users (id, account_id, authid, name, email, phone, status, created_at, updated_at)
			VALUES ('u1', 'acc', 'ada', 'Ada', 'ada@example.com', '', 'active', ?, ?)`, now, now)
		must(t, err)
		_, err = s.DB().ExecContext(ctx, `INSERT INTO credential_links (id, account_id, user_id, purpose, digest, created_at, expires_at, sent_at, dispatch_failures)
			VALUES ('l1', 'acc', 'u1', 'welcome', 'd1', ?, ?, ?, 2)`, now, now.Add(time.Hour), now)
		must(t, err)

		must(t, s.Migrate(ctx))
		l, err := s.GetCredentialLink(ctx, "l1")
		must(t, err)
		if l.Digest != "d1" || l.Purpose != store.LinkWelcome || l.SentAt == nil || !l.ExpiresAt.Equal(now.Add(time.Hour)) || l.DispatchFailures != 2 || l.Notice != nil {
			t.Fatalf("link after the migration = %+v", l)
		}
		if _, err := s.CredentialLinkByDigest(ctx, store.LinkWelcome, "d1"); err != nil {
			t.Fatalf("the link is not found by its digest: %v", err)
		}
		// The digest stays unique, and a notice is a purpose now.
		_, err = s.DB().ExecContext(ctx, `INSERT INTO credential_links (id, account_id, user_id, purpose, digest, created_at) VALUES ('l2', 'acc', 'u1', 'reset', 'd1', ?)`, now)
		if err == nil {
			t.Fatal("a second link with the same digest was stored")
		}
		_, err = s.DB().ExecContext(ctx, `INSERT INTO credential_links (id, account_id, user_id, purpose, created_at) VALUES ('n1', 'acc', 'u1', 'notice', ?)`, now)
		must(t, err)
		_, err = s.DB().ExecContext(ctx, `INSERT INTO credential_links (id, account_id, user_id, purpose, created_at) VALUES ('x1', 'acc', 'u1', 'anything', ?)`, now)
		if err == nil {
			t.Fatal("a link of an unknown purpose was stored")
		}
	})
}

func TestNoticesRideTheLinkOutbox(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		passwordAccount(t, s, "acme", now)
		ada := passwordUser(t, s, "acme", "ada", now)
		notice := func(id string) *store.CredentialLink {
			return &store.CredentialLink{ID: id, AccountID: "acme", UserID: ada.ID, Purpose: store.LinkNotice, CreatedAt: now,
				Notice: map[string]string{"kind": store.NoticePasswordReset, "at": now.Format(time.RFC3339), "ip": "203.0.113.9"}}
		}

		t.Run("a notice goes with the password it tells of, and only then", func(t *testing.T) {
			l := linkFor(t, s, ada, store.LinkReset, "reset-1", now)
			set := store.PasswordByLink{LinkID: l.ID, Digest: l.Digest, Purpose: l.Purpose, UserID: ada.ID, Hash: "h1", At: now, Notice: notice("notice-1")}
			must(t, s.SetPasswordByLink(ctx, set))
			got, err := s.GetCredentialLink(ctx, "notice-1")
			must(t, err)
			if got.Purpose != store.LinkNotice || got.Notice["kind"] != store.NoticePasswordReset || got.Notice["ip"] != "203.0.113.9" || got.Digest != "" || got.ExpiresAt != nil {
				t.Fatalf("notice = %+v", got)
			}
			// The same link again: refused, and no second notice.
			set.Notice = notice("notice-2")
			if err := s.SetPasswordByLink(ctx, set); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("err = %v, want ErrLinkGone", err)
			}
			if _, err := s.GetCredentialLink(ctx, "notice-2"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the refused change left a notice: %v", err)
			}
		})

		t.Run("notices add up: a newer one voids no older one, and each waits for its delivery", func(t *testing.T) {
			l := linkFor(t, s, ada, store.LinkReset, "reset-2", now)
			must(t, s.SetPasswordByLink(ctx, store.PasswordByLink{LinkID: l.ID, Digest: l.Digest, Purpose: l.Purpose, UserID: ada.ID, Hash: "h2", At: now, Notice: notice("notice-3")}))
			for _, id := range []string{"notice-1", "notice-3"} {
				if got, _ := s.GetCredentialLink(ctx, id); got.VoidedAt != nil {
					t.Fatalf("%s was voided", id)
				}
			}
			pending, err := s.UndispatchedCredentialLinks(ctx, now.Add(time.Second), 10)
			must(t, err)
			ids := map[string]bool{}
			for _, p := range pending {
				ids[p.ID] = true
			}
			if !ids["notice-1"] || !ids["notice-3"] {
				t.Fatalf("undispatched = %v, want both notices", ids)
			}
		})
	})
}

func TestRequestLink(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		passwordAccount(t, s, "acme", now)
		ada := passwordUser(t, s, "acme", "ada", now)
		request := func(u store.User, id string, at time.Time, max int) error {
			return s.RequestLink(ctx, store.LinkRequest{
				Link:  store.CredentialLink{ID: id, AccountID: u.AccountID, UserID: u.ID, Purpose: store.LinkReset, CreatedAt: at},
				Since: at.Add(-time.Hour), Max: max,
			}, store.AuditEvent{AccountID: u.AccountID, Time: at, Type: "reset.requested", AuthID: u.AuthID})
		}

		t.Run("at most max links an hour, each voiding the one before", func(t *testing.T) {
			for i := range 3 {
				must(t, request(ada, fmt.Sprintf("r%d", i), now.Add(time.Duration(i)*time.Minute), 3))
			}
			if err := request(ada, "r3", now.Add(3*time.Minute), 3); !errors.Is(err, store.ErrLinkLimit) {
				t.Fatalf("a fourth link in the hour: err = %v, want ErrLinkLimit", err)
			}
			if _, err := s.GetCredentialLink(ctx, "r3"); !errors.Is(err, store.ErrNotFound) {
				t.Fatal("the refused link was stored")
			}
			for i, want := range []bool{true, true, false} {
				got, err := s.GetCredentialLink(ctx, fmt.Sprintf("r%d", i))
				must(t, err)
				if (got.VoidedAt != nil) != want {
					t.Fatalf("link r%d voided = %v, want %v", i, got.VoidedAt != nil, want)
				}
			}
			if events, _ := s.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "reset.requested"}); len(events) != 3 {
				t.Fatalf("reset.requested events = %d, want 3", len(events))
			}
			// An hour after the first, one more may go.
			must(t, request(ada, "r4", now.Add(time.Hour+time.Second), 3))
		})

		t.Run("refused while the user's or the account's switch is off", func(t *testing.T) {
			bob := passwordUser(t, s, "acme", "bob", now)
			off := bob
			off.EmailPasswordLogin = false
			must(t, s.ApplyUserChanges(ctx, "acme", []store.UserChange{{User: off, SaveProfile: true}}))
			if err := request(bob, "bob-1", now, 3); !errors.Is(err, store.ErrPasswordLoginOff) {
				t.Fatalf("user switch off: err = %v, want ErrPasswordLoginOff", err)
			}
			ghost := store.User{ID: "ghost", AccountID: "acme", AuthID: "ghost"}
			if err := request(ghost, "ghost-1", now, 3); !errors.Is(err, store.ErrPasswordLoginOff) {
				t.Fatalf("unknown user: err = %v, want ErrPasswordLoginOff", err)
			}
			other := passwordAccount(t, s, "other", now)
			cy := passwordUser(t, s, other.ID, "cy", now)
			_, err := s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: other.ID, From: other.Settings(),
				To: store.AccountSettings{EmailDelivery: true}, At: now, ConfirmedUsers: 1})
			must(t, err)
			if err := request(cy, "cy-1", now, 3); !errors.Is(err, store.ErrPasswordLoginOff) {
				t.Fatalf("account switch off: err = %v, want ErrPasswordLoginOff", err)
			}
		})

		t.Run("concurrent requests cannot all pass one count", func(t *testing.T) {
			dan := passwordUser(t, s, "acme", "dan", now)
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = request(dan, fmt.Sprintf("dan-%d", i), now, 3)
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, store.ErrLinkLimit):
					t.Fatalf("a concurrent request failed otherwise: %v", err)
				}
			}
			if ok != 3 {
				t.Fatalf("%d of %d concurrent requests issued a link, want 3", ok, n)
			}
		})

		t.Run("users are found by address without regard to case, in their account only", func(t *testing.T) {
			twin := passwordUser(t, s, "acme", "twin", now)
			twin.Email, twin.UpdatedAt = "Ada@Example.COM", now
			must(t, s.ApplyUserChanges(ctx, "acme", []store.UserChange{{User: twin, SaveProfile: true}}))
			users, err := s.UsersByEmail(ctx, "acme", "ADA@example.com", 10)
			must(t, err)
			if len(users) != 2 || users[0].AuthID != "ada" || users[1].AuthID != "twin" {
				t.Fatalf("users = %+v, want ada and twin", users)
			}
			if users, _ := s.UsersByEmail(ctx, "other", "ada@example.com", 10); len(users) != 0 {
				t.Fatalf("another account's users = %+v", users)
			}
			if users, _ := s.UsersByEmail(ctx, "acme", "ada@example.com", 1); len(users) != 1 {
				t.Fatalf("limit 1 found %d", len(users))
			}
		})
	})
}

func TestTurningPasswordLoginOffDeletesCredentials(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		acc := passwordAccount(t, s, "acme", now)
		ada := passwordUser(t, s, "acme", "ada", now) // switch on, password, TOTP, codes, a reset link
		giveCredentials(t, s, ada, true, "active", 2, now)
		adaLink := linkFor(t, s, ada, store.LinkReset, "ada-reset", now)
		bob := passwordUser(t, s, "acme", "bob", now) // switch on, no password yet, enrolment pending, a welcome link
		giveCredentials(t, s, bob, false, "pending", 0, now)
		bobLink := linkFor(t, s, bob, store.LinkWelcome, "bob-welcome", now)
		cy := passwordUser(t, s, "acme", "cy", now) // switch off, but a password left
		cy.EmailPasswordLogin = false
		must(t, s.ApplyUserChanges(ctx, "acme", []store.UserChange{{User: cy, SaveProfile: true}}))
		giveCredentials(t, s, cy, true, "", 0, now)
		dan := store.User{ID: "acme-dan", AccountID: "acme", AuthID: "dan", Email: "dan@example.com", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateUser(ctx, &dan)) // the app's TOTP user: no switch, no password
		giveCredentials(t, s, dan, false, "active", 3, now)
		other := passwordAccount(t, s, "other", now)
		eve := passwordUser(t, s, other.ID, "eve", now)
		giveCredentials(t, s, eve, true, "active", 1, now)

		before := map[string]credentials{}
		for _, u := range []store.User{ada, bob, cy, dan, eve} {
			before[u.AuthID] = credentialsOf(t, s, u)
		}
		unchanged := func(t *testing.T) {
			t.Helper()
			for _, u := range []store.User{ada, bob, cy, dan, eve} {
				if got := credentialsOf(t, s, u); got != before[u.AuthID] {
					t.Fatalf("%s = %+v, want %+v", u.AuthID, got, before[u.AuthID])
				}
			}
			for _, l := range []store.CredentialLink{adaLink, bobLink} {
				if got, _ := s.GetCredentialLink(ctx, l.ID); !got.Live(now) {
					t.Fatalf("link %s = %+v, want it live", l.ID, got)
				}
			}
			if got, _ := s.GetAccount(ctx, "acme"); !got.EmailPasswordLogin {
				t.Fatal("the account's switch went off")
			}
			if events, _ := s.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "account.credentials_deleted"}); len(events) != 0 {
				t.Fatalf("events of a change that did not happen: %+v", events)
			}
		}
		off := store.AccountSettings{EmailDelivery: true}
		change := func(confirmed int, audit func(store.SettingsOutcome) []store.AuditEvent) (store.SettingsOutcome, error) {
			return s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: acc.Settings(), To: off, At: now, ConfirmedUsers: confirmed, Audit: audit})
		}

		if n, err := s.CountPasswordLoginUsers(ctx, "acme"); err != nil || n != 3 {
			t.Fatalf("affected users = %d, %v; want 3 (ada, bob, cy)", n, err)
		}

		t.Run("without the right count nothing changes and the count is said", func(t *testing.T) {
			for _, confirmed := range []int{0, 2, 4} {
				_, err := change(confirmed, nil)
				var affected *store.AffectedUsersError
				if !errors.As(err, &affected) || affected.Affected != 3 {
					t.Fatalf("confirmed %d: err = %v, want AffectedUsersError{3}", confirmed, err)
				}
				unchanged(t)
			}
		})

		t.Run("a failure after the deletions leaves everything as it was", func(t *testing.T) {
			broken := func(store.SettingsOutcome) []store.AuditEvent {
				// JSON cannot carry a channel: the audit insert, the last
				// statement, fails.
				return []store.AuditEvent{{AccountID: "acme", Time: now, Type: "account.updated", Detail: map[string]any{"x": make(chan int)}}}
			}
			if _, err := change(3, broken); err == nil {
				t.Fatal("the change with a broken audit event succeeded")
			}
			unchanged(t)
		})

		t.Run("confirmed, it deletes the credentials of the users with the switch or a password, in one go", func(t *testing.T) {
			var seen store.SettingsOutcome
			out, err := change(3, func(o store.SettingsOutcome) []store.AuditEvent {
				seen = o
				return []store.AuditEvent{{AccountID: "acme", Time: now, Type: "account.credentials_deleted", Detail: map[string]any{"users": o.Deleted.Users}}}
			})
			must(t, err)
			want := store.CredentialsDeleted{Users: 3, Passwords: 2, Authenticators: 2, RecoveryCodes: 2, Links: 2}
			if out.Deleted != want || seen.Deleted != want {
				t.Fatalf("deleted = %+v (audit saw %+v), want %+v", out.Deleted, seen.Deleted, want)
			}
			for _, c := range []struct {
				u    store.User
				want credentials
			}{
				{ada, credentials{switchOn: true}}, {bob, credentials{switchOn: true}}, {cy, credentials{}},
				{dan, before["dan"]}, {eve, before["eve"]},
			} {
				if got := credentialsOf(t, s, c.u); got != c.want {
					t.Errorf("%s = %+v, want %+v", c.u.AuthID, got, c.want)
				}
			}
			got, err := s.UserByID(ctx, ada.ID)
			must(t, err)
			if got.PasswordSetAt != nil || got.PasswordChangedAt != nil {
				t.Errorf("ada's password dates = %v, %v, want none", got.PasswordSetAt, got.PasswordChangedAt)
			}
			for _, l := range []store.CredentialLink{adaLink, bobLink} {
				if got, _ := s.GetCredentialLink(ctx, l.ID); got.VoidedAt == nil {
					t.Errorf("link %s was not voided", l.ID)
				}
			}
			if events, _ := s.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "account.credentials_deleted"}); len(events) != 1 {
				t.Fatalf("account.credentials_deleted events = %d, want 1", len(events))
			}
		})

		t.Run("on again, every user with the switch, an email and no password gets a welcome link", func(t *testing.T) {
			passwordUser(t, s, "other", "elsewhere", now) // in another account: not welcomed
			var seen []store.Welcomed
			out, err := s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: off, To: acc.Settings(), At: now,
				Audit: func(o store.SettingsOutcome) []store.AuditEvent { seen = o.Welcomed; return nil }})
			must(t, err)
			if len(out.Welcomed) != 2 || out.Welcomed[0].AuthID != "ada" || out.Welcomed[1].AuthID != "bob" || len(seen) != 2 {
				t.Fatalf("welcomed = %+v, want ada and bob", out.Welcomed)
			}
			for _, w := range out.Welcomed {
				l, err := s.GetCredentialLink(ctx, w.LinkID)
				must(t, err)
				if l.Purpose != store.LinkWelcome || l.UserID != w.UserID || l.Closed() || l.DispatchedAt != nil {
					t.Fatalf("welcome link of %s = %+v", w.AuthID, l)
				}
			}
		})

		t.Run("on again with email delivery off, no link is requested", func(t *testing.T) {
			got, err := s.GetAccount(ctx, "acme")
			must(t, err)
			out, err := s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: got.Settings(), To: store.AccountSettings{}, At: now, ConfirmedUsers: 2})
			must(t, err)
			if out.Deleted.Users != 2 || out.Deleted.Links != 2 {
				t.Fatalf("off again = %+v, want ada and bob, and their two welcome links", out.Deleted)
			}
			out, err = s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: store.AccountSettings{}, To: store.AccountSettings{EmailPasswordLogin: true}, At: now})
			must(t, err)
			if len(out.Welcomed) != 0 {
				t.Fatalf("welcomed with email delivery off: %+v", out.Welcomed)
			}
		})
	})
}

// A password set while the account's switch goes off either happens
// before (and is deleted with the others) or finds the switch off: never
// a password left behind under a switch that is off.
func TestAPasswordSetWhileTheSwitchGoesOffIsNotLeftBehind(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		acc := passwordAccount(t, s, "acme", now)
		on, off := acc.Settings(), store.AccountSettings{EmailDelivery: true}
		for round := range 15 {
			u := passwordUser(t, s, "acme", fmt.Sprintf("u%d", round), now)
			l := linkFor(t, s, u, store.LinkWelcome, fmt.Sprintf("l%d", round), now)
			affected, err := s.CountPasswordLoginUsers(ctx, "acme")
			must(t, err)
			var setErr, offErr error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				setErr = setPassword(s, l, now)
			}()
			go func() {
				defer wg.Done()
				_, offErr = s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: on, To: off, At: now, ConfirmedUsers: affected})
			}()
			wg.Wait()
			must(t, offErr)
			if setErr != nil && !errors.Is(setErr, store.ErrLinkGone) {
				t.Fatalf("round %d: setting the password failed otherwise: %v", round, setErr)
			}
			if got := credentialsOf(t, s, u); got.password {
				t.Fatalf("round %d: a password outlived the switch (set: %v)", round, setErr)
			}
			_, err = s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: off, To: on, At: now})
			must(t, err)
		}
	})
}
