package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// eachEmptyDatabase is eachDatabase without the migrations: fn migrates.
func eachEmptyDatabase(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	dsns := map[string]string{
		"sqlite":   filepath.Join(t.TempDir(), "flexauth.db"),
		"postgres": cluster.NewDatabase(t),
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			s, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			fn(t, s)
		})
	}
}

func TestMigrationRenamesEmailLoginKeepingValues(t *testing.T) {
	eachEmptyDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// The schema as the release before email and password sign-in
		// left it, with an account of each email setting and a user.
		must(t, s.MigrateUntil(ctx, "20261130000001"))
		now := time.Now().UTC()
		for _, row := range []struct {
			id string
			on bool
		}{{"mail-on", true}, {"mail-off", false}} {
			_, err := s.DB().ExecContext(ctx, "INSERT INTO accounts (id, name, created_at, email_login) VALUES (?, ?, ?, ?)", row.id, row.id, now, row.on)
			must(t, err)
		}
		_, err := s.DB().ExecContext(ctx, `INSERT INTO users (id, account_id, authid, name, email, phone, status, created_at, updated_at)
			VALUES ('u1', 'mail-off', 'alice', 'Alice', 'alice@example.com', '', 'active', ?, ?)`, now, now)
		must(t, err)

		must(t, s.Migrate(ctx))
		for id, want := range map[string]bool{"mail-on": true, "mail-off": false} {
			acc, err := s.GetAccount(ctx, id)
			must(t, err)
			if acc.EmailDelivery != want || acc.EmailPasswordLogin {
				t.Errorf("account %s after the migration = %+v, want email delivery %v and email and password sign-in off", id, acc, want)
			}
		}
		u, err := s.GetUser(ctx, "mail-off", "alice")
		must(t, err)
		if u.EmailPasswordLogin || u.PasswordHash != "" || u.PasswordSetAt != nil || u.PasswordChangedAt != nil {
			t.Errorf("user after the migration = %+v, want no email and password sign-in and no password", u)
		}
		if _, err := s.DB().ExecContext(ctx, "SELECT email_login FROM accounts"); err == nil {
			t.Error("the column email_login is still there")
		}
	})
}

// linkFixture is an account with email and password sign-in on and a user
// with it on.
func linkFixture(t *testing.T, s *store.Store) (store.Account, store.User) {
	t.Helper()
	ctx := context.Background()
	acc, _, u := seed(t, s)
	must(t, updateSettings(s, acc.ID, acc.Settings(), store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}))
	u.EmailPasswordLogin = true
	must(t, s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: u, SaveProfile: true, EnablesPasswordLogin: true}}))
	return acc, u
}

// issue requests a welcome link for u and draws its token (digest
// "digest-"+id), expiring at expires.
func issue(t *testing.T, s *store.Store, u store.User, id string, at, expires time.Time) store.CredentialLink {
	t.Helper()
	ctx := context.Background()
	l := store.CredentialLink{ID: id, AccountID: u.AccountID, UserID: u.ID, Purpose: store.LinkWelcome, CreatedAt: at}
	u.UpdatedAt = at
	must(t, s.ApplyUserChanges(ctx, u.AccountID, []store.UserChange{{User: u, IssueLink: &l}}))
	drawn, err := s.DrawCredentialLink(ctx, id, "digest-"+id, []byte("sealed-"+id), expires)
	must(t, err)
	return drawn
}

func setPassword(s *store.Store, l store.CredentialLink, at time.Time) error {
	return s.SetPasswordByLink(context.Background(), store.PasswordByLink{
		LinkID: l.ID, Digest: l.Digest, Purpose: l.Purpose, UserID: l.UserID, Hash: "hash-of-" + l.ID, At: at,
	})
}

func TestCredentialLinks(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		day := now.Add(24 * time.Hour)

		t.Run("no user switch and no link while the account's switch is off", func(t *testing.T) {
			acc := store.Account{ID: "acc-off", Name: "Off", CreatedAt: now}
			must(t, s.CreateAccount(ctx, &acc))
			u := store.User{ID: "u-off", AccountID: acc.ID, AuthID: "olga", Email: "olga@example.com", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
			must(t, s.CreateUser(ctx, &u))
			u.EmailPasswordLogin = true
			err := s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: u, SaveProfile: true, EnablesPasswordLogin: true}})
			if !errors.Is(err, store.ErrPasswordLoginOff) {
				t.Fatalf("enabling: err = %v, want ErrPasswordLoginOff", err)
			}
			l := store.CredentialLink{ID: "refused", AccountID: acc.ID, UserID: u.ID, Purpose: store.LinkWelcome, CreatedAt: now}
			err = s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: u, IssueLink: &l}})
			if !errors.Is(err, store.ErrPasswordLoginOff) {
				t.Fatalf("a link: err = %v, want ErrPasswordLoginOff", err)
			}
			got, err := s.GetUser(ctx, acc.ID, u.AuthID)
			must(t, err)
			if got.EmailPasswordLogin {
				t.Fatal("the refused change was stored")
			}
			if _, err := s.GetCredentialLink(ctx, "refused"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the refused link: err = %v, want ErrNotFound", err)
			}
		})

		acc, u := linkFixture(t, s)

		t.Run("a token is drawn once: a retried delivery finds the first", func(t *testing.T) {
			l := issue(t, s, u, "l-draw", now, day)
			again, err := s.DrawCredentialLink(ctx, l.ID, "another digest", []byte("another"), day.Add(time.Hour))
			must(t, err)
			if again.Digest != "digest-l-draw" || string(again.Sealed) != "sealed-l-draw" || !again.ExpiresAt.Equal(day) {
				t.Fatalf("after a second draw: %+v, want the first token kept", again)
			}
			ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "welcome.sent", AuthID: u.AuthID}
			sent, err := s.CredentialLinkSent(ctx, l.ID, now, ev)
			must(t, err)
			again2, err := s.CredentialLinkSent(ctx, l.ID, now, ev)
			must(t, err)
			if !sent || again2 {
				t.Fatalf("sent = %v then %v, want true then false", sent, again2)
			}
			got, err := s.GetCredentialLink(ctx, l.ID)
			must(t, err)
			if got.Sealed != nil || got.SentAt == nil || got.Digest != l.Digest {
				t.Fatalf("a sent link = %+v, want its sealed token gone and the digest kept", got)
			}
			if events, _ := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "welcome.sent"}); len(events) != 1 {
				t.Fatalf("welcome.sent events = %d, want 1", len(events))
			}
		})

		t.Run("a link sets the password once", func(t *testing.T) {
			l := issue(t, s, u, "l-once", now, day)
			ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "password.set", AuthID: u.AuthID}
			must(t, s.SetPasswordByLink(ctx, store.PasswordByLink{LinkID: l.ID, Digest: l.Digest, Purpose: l.Purpose, UserID: u.ID, Hash: "h1", At: now}, ev))
			got, err := s.GetUser(ctx, acc.ID, u.AuthID)
			must(t, err)
			if got.PasswordHash != "h1" || got.PasswordSetAt == nil || got.PasswordChangedAt != nil {
				t.Fatalf("user = %+v, want hash h1, set now, never changed", got)
			}
			if err := setPassword(s, l, now); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("the link again: err = %v, want ErrLinkGone", err)
			}
			if got, _ := s.GetUser(ctx, acc.ID, u.AuthID); got.PasswordHash != "h1" {
				t.Fatalf("the refused use changed the password to %q", got.PasswordHash)
			}
			if events, _ := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "password.set"}); len(events) != 1 {
				t.Fatalf("password.set events = %d, want 1", len(events))
			}
			// A second link over a password replaces it: changed now.
			later := now.Add(time.Minute)
			must(t, setPassword(s, issue(t, s, u, "l-twice", later, day), later))
			got, err = s.GetUser(ctx, acc.ID, u.AuthID)
			must(t, err)
			if got.PasswordHash != "hash-of-l-twice" || got.PasswordChangedAt == nil || !got.PasswordChangedAt.Equal(later) {
				t.Fatalf("user = %+v, want the new hash, changed at %v", got, later)
			}
		})

		t.Run("a link is used once however many use it at the same time", func(t *testing.T) {
			l := issue(t, s, u, "l-race", now, day)
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = setPassword(s, l, now)
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, store.ErrLinkGone):
					t.Fatalf("a concurrent use failed otherwise: %v", err)
				}
			}
			if ok != 1 {
				t.Fatalf("%d of %d concurrent uses set the password, want exactly 1", ok, n)
			}
		})

		t.Run("an expired link sets nothing", func(t *testing.T) {
			l := issue(t, s, u, "l-expired", now, now.Add(time.Hour))
			if err := setPassword(s, l, now.Add(time.Hour)); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("at its expiry: err = %v, want ErrLinkGone", err)
			}
			if got, _ := s.GetCredentialLink(ctx, l.ID); got.UsedAt != nil {
				t.Fatal("the expired link was marked used")
			}
		})

		t.Run("a new link voids the old one", func(t *testing.T) {
			old := issue(t, s, u, "l-old", now, day)
			fresh := issue(t, s, u, "l-new", now.Add(time.Second), day)
			got, err := s.GetCredentialLink(ctx, old.ID)
			must(t, err)
			if got.VoidedAt == nil || got.Sealed != nil || got.Live(now) {
				t.Fatalf("the old link = %+v, want it voided, its sealed token gone", got)
			}
			if err := setPassword(s, old, now); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("the old link: err = %v, want ErrLinkGone", err)
			}
			if sent, err := s.CredentialLinkSent(ctx, old.ID, now); err != nil || sent {
				t.Fatalf("marking the voided link sent = %v, %v, want false", sent, err)
			}
			must(t, setPassword(s, fresh, now))
		})

		t.Run("turning the user's switch off voids the links and refuses any left", func(t *testing.T) {
			voided := issue(t, s, u, "l-void", now, day)
			off := u
			off.EmailPasswordLogin, off.UpdatedAt = false, now
			must(t, s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: off, SaveProfile: true, VoidLinks: []string{store.LinkWelcome}}}))
			if got, _ := s.GetCredentialLink(ctx, voided.ID); got.VoidedAt == nil {
				t.Fatal("the link outlived the switch")
			}
			// A link the switch change did not void (another purpose) still
			// sets nothing for a user whose switch is off.
			l := store.CredentialLink{ID: "l-reset", AccountID: acc.ID, UserID: u.ID, Purpose: store.LinkReset, CreatedAt: now}
			must(t, s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: off, IssueLink: &l}}))
			l, err := s.DrawCredentialLink(ctx, l.ID, "digest-reset", []byte("x"), day)
			must(t, err)
			if err := setPassword(s, l, now); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("err = %v, want ErrLinkGone", err)
			}
			if got, _ := s.GetCredentialLink(ctx, l.ID); got.UsedAt != nil {
				t.Fatal("the refused link was used up")
			}
			if voided, err := s.VoidCredentialLink(ctx, l.ID, now); err != nil || !voided {
				t.Fatalf("voiding it = %v, %v", voided, err)
			}
			must(t, s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: u, SaveProfile: true, EnablesPasswordLogin: true}}))
		})

		t.Run("links whose delivery did not start are found until marked, and a failure is audited once", func(t *testing.T) {
			l := store.CredentialLink{ID: "l-outbox", AccountID: acc.ID, UserID: u.ID, Purpose: store.LinkWelcome, CreatedAt: now}
			u.UpdatedAt = now
			must(t, s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: u, IssueLink: &l}}))
			pending, err := s.UndispatchedCredentialLinks(ctx, now.Add(time.Second), 10)
			must(t, err)
			if len(pending) != 1 || pending[0].ID != l.ID {
				t.Fatalf("undispatched = %+v, want only %s (the others are closed)", pending, l.ID)
			}
			if early, _ := s.UndispatchedCredentialLinks(ctx, now, 10); len(early) != 0 {
				t.Fatalf("links created at the cut-off are left to their own start: %+v", early)
			}
			ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "welcome.delayed", AuthID: u.AuthID}
			must(t, s.CredentialLinkDispatchFailed(ctx, l.ID, ev))
			must(t, s.CredentialLinkDispatchFailed(ctx, l.ID, ev))
			if events, _ := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "welcome.delayed"}); len(events) != 1 {
				t.Fatalf("welcome.delayed events = %d, want 1", len(events))
			}
			must(t, s.MarkCredentialLinkDispatched(ctx, l.ID, now))
			if pending, _ := s.UndispatchedCredentialLinks(ctx, now.Add(time.Second), 10); len(pending) != 0 {
				t.Fatalf("undispatched after the start = %+v", pending)
			}
		})

		t.Run("turning the account's switch off voids every link", func(t *testing.T) {
			l := issue(t, s, u, "l-account-off", now, day)
			got, err := s.GetAccount(ctx, acc.ID)
			must(t, err)
			_, err = s.UpdateAccountSettings(ctx, store.SettingsChange{
				AccountID: acc.ID, From: got.Settings(), To: store.AccountSettings{EmailDelivery: true}, At: now, ConfirmedUsers: 1,
			})
			must(t, err)
			if err := setPassword(s, l, now); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("err = %v, want ErrLinkGone", err)
			}
			if got, _ := s.GetCredentialLink(ctx, l.ID); got.VoidedAt == nil {
				t.Fatal("the link outlived the account's switch")
			}
		})
	})
}
