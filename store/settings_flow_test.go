package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// The email and password switch is set at the top organisation and
// applies to its whole tree.
func TestEmailPasswordSwitchFlowsDown(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		// acme ── eu ── fr     other
		acme := store.Account{ID: "acme", Name: "Acme", CreatedAt: now}
		must(t, s.CreateAccount(ctx, &acme))
		for _, o := range []store.Account{{ID: "eu", Name: "Acme EU", ParentID: "acme"}, {ID: "fr", Name: "Acme FR", ParentID: "eu"}} {
			o.CreatedAt = now
			must(t, s.CreateOrganisation(ctx, "acme", &o))
		}
		other := passwordAccount(t, s, "other", now)
		eve := passwordUser(t, s, other.ID, "eve", now)
		giveCredentials(t, s, eve, true, "active", 1, now)
		// fr's own column says on: it must never be read.
		_, err := s.DB().NewUpdate().Model((*store.Account)(nil)).Set("email_password_login = ?", true).Where("id = 'fr'").Exec(ctx)
		must(t, err)
		// A user of fr with the switch on and no password (as an older
		// flexauth or an import might leave one).
		zoe := store.User{ID: "fr-zoe", AccountID: "fr", AuthID: "zoe", Email: "zoe@example.com", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateUser(ctx, &zoe))
		_, err = s.DB().NewUpdate().Model((*store.User)(nil)).Set("email_password_login = ?", true).Where("id = ?", zoe.ID).Exec(ctx)
		must(t, err)

		effective := func(t *testing.T, id string) store.Account {
			t.Helper()
			a, err := s.GetAccount(ctx, id)
			must(t, err)
			return a
		}

		t.Run("a sub-organisation takes its top organisation's switch, at any depth", func(t *testing.T) {
			for _, id := range []string{"acme", "eu", "fr"} {
				a := effective(t, id)
				if a.EmailPasswordLogin || a.TopID != "acme" || a.TopName != "Acme" {
					t.Fatalf("%s = %+v, want the switch off, set by acme", id, a)
				}
			}
			if a := effective(t, "fr"); a.ParentID != "eu" || a.Name != "Acme FR" || !a.EmailDelivery {
				t.Fatalf("fr = %+v, want its own name, parent and delivery", a)
			}
			if a := effective(t, "other"); !a.EmailPasswordLogin || a.TopID != "other" {
				t.Fatalf("other = %+v, want its own switch, on", a)
			}
			if _, err := s.GetAccount(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown account: err = %v, want ErrNotFound", err)
			}
		})

		t.Run("a sub-organisation cannot change the switch: its top is named", func(t *testing.T) {
			for _, id := range []string{"eu", "fr"} {
				from := effective(t, id).Settings()
				to := from
				to.EmailPasswordLogin = true
				err := updateSettings(s, id, from, to)
				var atTop *store.SetAtTopError
				if !errors.As(err, &atTop) || atTop.TopID != "acme" || atTop.TopName != "Acme" {
					t.Fatalf("%s: err = %v, want SetAtTopError naming acme", id, err)
				}
			}
			if effective(t, "fr").EmailPasswordLogin {
				t.Fatal("the refused change turned the switch on")
			}
		})

		t.Run("a sub-organisation still changes its own email delivery", func(t *testing.T) {
			from := effective(t, "fr").Settings()
			to := from
			to.EmailDelivery = false
			must(t, updateSettings(s, "fr", from, to))
			if a := effective(t, "fr"); a.EmailDelivery || a.EmailPasswordLogin {
				t.Fatalf("fr = %+v, want delivery off and the switch still acme's (off)", a)
			}
			must(t, updateSettings(s, "fr", to, from))
			if !effective(t, "eu").EmailDelivery {
				t.Fatal("fr's delivery change reached eu")
			}
		})

		t.Run("while the top's switch is off no user of the tree gets a password", func(t *testing.T) {
			u := store.User{ID: "fr-ann", AccountID: "fr", AuthID: "ann", Email: "ann@example.com", Status: store.UserActive, EmailPasswordLogin: true, CreatedAt: now, UpdatedAt: now}
			err := s.ApplyUserChanges(ctx, "fr", []store.UserChange{{User: u, Create: true, EnablesPasswordLogin: true}})
			if !errors.Is(err, store.ErrPasswordLoginOff) {
				t.Fatalf("user with the switch in fr: err = %v, want ErrPasswordLoginOff", err)
			}
			giveCredentials(t, s, zoe, true, "", 0, now)
			if got, err := s.PasswordUsersByEmail(ctx, "fr", zoe.Email, 2); err != nil || len(got) != 0 {
				t.Fatalf("password users of fr = %+v, %v; want none while acme is off", got, err)
			}
			_, err = s.DB().NewUpdate().Model((*store.User)(nil)).Set("password_hash = NULL").Where("id = ?", zoe.ID).Exec(ctx)
			must(t, err)
		})

		t.Run("turned on at the top, it is on for the tree and welcomes its users", func(t *testing.T) {
			from := effective(t, "acme").Settings()
			to := from
			to.EmailPasswordLogin = true
			out, err := s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: from, To: to, At: now})
			must(t, err)
			if len(out.Welcomed) != 1 || out.Welcomed[0].UserID != zoe.ID || out.Welcomed[0].AccountID != "fr" {
				t.Fatalf("welcomed = %+v, want zoe of fr", out.Welcomed)
			}
			l, err := s.GetCredentialLink(ctx, out.Welcomed[0].LinkID)
			must(t, err)
			if l.AccountID != "fr" || l.UserID != zoe.ID {
				t.Fatalf("welcome link = %+v, want it in fr for zoe", l)
			}
			if !effective(t, "fr").EmailPasswordLogin {
				t.Fatal("fr's switch is still off")
			}
			u := passwordUser(t, s, "eu", "ann", now)
			giveCredentials(t, s, u, true, "active", 2, now)
			giveCredentials(t, s, zoe, true, "", 1, now)
			if got, err := s.PasswordUsersByEmail(ctx, "fr", zoe.Email, 2); err != nil || len(got) != 1 {
				t.Fatalf("password users of fr = %+v, %v; want zoe", got, err)
			}
		})

		t.Run("turned off at the top, the credentials of the whole tree go, with counts", func(t *testing.T) {
			n, err := s.CountPasswordLoginUsers(ctx, "acme")
			must(t, err)
			if n != 2 {
				t.Fatalf("affected users = %d, want 2 (ann of eu, zoe of fr)", n)
			}
			from := effective(t, "acme").Settings()
			to := from
			to.EmailPasswordLogin = false
			out, err := s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: from, To: to, At: now, ConfirmedUsers: 2})
			must(t, err)
			want := store.CredentialsDeleted{Users: 2, Passwords: 2, Authenticators: 1, RecoveryCodes: 3, Links: 1}
			if out.Deleted != want {
				t.Fatalf("deleted = %+v, want %+v", out.Deleted, want)
			}
			for _, u := range []store.User{zoe, {ID: "eu-ann"}} {
				if c := credentialsOf(t, s, u); c.password || c.totp || c.codes != 0 {
					t.Fatalf("%s kept %+v", u.ID, c)
				}
			}
			if c := credentialsOf(t, s, eve); !c.password || !c.totp || c.codes != 1 {
				t.Fatalf("eve of another tree lost %+v", c)
			}
			if effective(t, "eu").EmailPasswordLogin {
				t.Fatal("eu's switch is still on")
			}
		})
	})
}

func TestEffectivePolicyIsTheNearestAncestors(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		// top ── mid ── leaf     other
		for _, id := range []string{"top", "other"} {
			must(t, s.CreateAccount(ctx, &store.Account{ID: id, Name: id, CreatedAt: now}))
		}
		must(t, s.CreateOrganisation(ctx, "top", &store.Account{ID: "mid", Name: "mid", ParentID: "top", CreatedAt: now}))
		must(t, s.CreateOrganisation(ctx, "top", &store.Account{ID: "leaf", Name: "leaf", ParentID: "mid", CreatedAt: now}))
		upload := func(account string) int {
			t.Helper()
			v := store.PolicyVersion{AccountID: account, Rego: "package flexauth", CreatedAt: now, CreatedBy: "test"}
			must(t, s.CreatePolicyVersion(ctx, &v))
			return v.Version
		}
		want := func(account, owner string, version int) {
			t.Helper()
			o, v, err := s.EffectivePolicy(ctx, account)
			must(t, err)
			if o != owner || v != version {
				t.Fatalf("policy of %s = %s v%d, want %s v%d", account, o, v, owner, version)
			}
		}
		want("leaf", "leaf", store.BuiltinPolicyVersion)
		upload("top")
		v2 := upload("top")
		want("leaf", "top", v2)
		want("mid", "top", v2)
		want("other", "other", store.BuiltinPolicyVersion)
		m1 := upload("mid")
		want("leaf", "mid", m1)
		want("top", "top", v2)
		must(t, s.ActivatePolicyVersion(ctx, "mid", store.BuiltinPolicyVersion, now))
		want("leaf", "top", v2)
		must(t, s.ActivatePolicyVersion(ctx, "top", 1, now))
		want("leaf", "top", 1)
	})
}
