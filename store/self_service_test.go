package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestMigrationKeepsCredentialLinksAndTakesNoticesAndRecoverLinks(t *testing.T) {
	eachEmptyDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.MigrateUntil(ctx, "20261214000001"))
		now := time.Now().UTC().Truncate(time.Millisecond)
		_, err := s.DB().ExecContext(ctx, "INSERT INTO accounts (id, name, created_at) VALUES ('acc1', 'Acme', ?)", now)
		must(t, err)
		_, err = s.DB().ExecContext(ctx, `INSERT INTO users (id, account_id, authid, name, email, phone, status, totp_enabled, created_at, updated_at)
			VALUES ('u1', 'acc1', 'alice', 'Alice', 'alice@example.com', '', 'active', true, ?, ?)`, now, now)
		must(t, err)
		_, err = s.DB().ExecContext(ctx, `INSERT INTO credential_links (id, account_id, user_id, purpose, digest, created_at, expires_at, dispatch_failures)
			VALUES ('w1', 'acc1', 'u1', 'welcome', 'digest-w1', ?, ?, 2)`, now, now.Add(time.Hour))
		must(t, err)

		must(t, s.Migrate(ctx))
		l, err := s.GetCredentialLink(ctx, "w1")
		must(t, err)
		if l.Digest != "digest-w1" || l.DispatchFailures != 2 || l.Purpose != store.LinkWelcome || l.Notice != nil || l.AttemptID != "" {
			t.Fatalf("welcome link after the migration = %+v", l)
		}
		u, err := s.GetUser(ctx, "acc1", "alice")
		must(t, err)
		if !u.TOTPEnabled || u.TOTPEnabledAt != nil || u.EmailVerifiedAt != nil || u.TwoFactorResetAt != nil {
			t.Fatalf("user after the migration = %+v, want totp on, with no dates", u)
		}
		for _, purpose := range []string{store.LinkNotice, store.LinkRecover} {
			_, err := s.DB().ExecContext(ctx, `INSERT INTO credential_links (id, account_id, user_id, purpose, created_at) VALUES (?, 'acc1', 'u1', ?, ?)`,
				"new-"+purpose, purpose, now)
			must(t, err)
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO credential_links (id, account_id, user_id, purpose, created_at) VALUES ('x', 'acc1', 'u1', 'other', ?)`, now); err == nil {
			t.Fatal("a purpose outside the list was stored")
		}
	})
}

// selfServiceFixture is linkFixture's account and user with a password.
func selfServiceFixture(t *testing.T, s *store.Store) (store.Account, store.User) {
	t.Helper()
	acc, u := linkFixture(t, s)
	_, err := s.DB().NewUpdate().Model((*store.User)(nil)).Set("password_hash = 'hash-1'").Where("id = ?", u.ID).Exec(context.Background())
	must(t, err)
	u, err = s.UserByID(context.Background(), u.ID)
	must(t, err)
	return acc, u
}

func notices(t *testing.T, s *store.Store, userID string) []store.NoticeOf {
	t.Helper()
	var links []store.CredentialLink
	must(t, s.DB().NewSelect().Model(&links).Where("user_id = ? AND purpose = ?", userID, store.LinkNotice).Order("created_at", "id").Scan(context.Background()))
	out := []store.NoticeOf{}
	for _, l := range links {
		if l.Digest != "" || l.ExpiresAt != nil {
			t.Fatalf("notice %+v has a token", l)
		}
		out = append(out, store.NoticeOfLink(l))
	}
	return out
}

func TestSecondFactorDatesAndNotices(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		acc, u := selfServiceFixture(t, s)
		notice := func(id, kind string, at time.Time) *store.CredentialLink {
			n := store.NewNotice(id, acc.ID, u.ID, store.NoticeOf{Kind: kind, At: at, IP: "192.0.2.1", By: store.NoticeBySelf})
			return &n
		}

		t.Run("an administrator's enrolment and reset are dated", func(t *testing.T) {
			must(t, s.SetTOTPPending(ctx, u.ID, []byte("pending"), now))
			must(t, s.ActivateTOTP(ctx, u.ID, []byte("active"), 5, now))
			got, err := s.UserByID(ctx, u.ID)
			must(t, err)
			if !got.TOTPEnabled || got.TOTPEnabledAt == nil || !got.TOTPEnabledAt.Equal(now) {
				t.Fatalf("after activation: %+v, want enabled at %v", got, now)
			}
			later := now.Add(time.Minute)
			must(t, s.ResetTwoFactor(ctx, u.ID, later))
			got, err = s.UserByID(ctx, u.ID)
			must(t, err)
			if got.TOTPEnabled || got.TOTPEnabledAt != nil || got.TwoFactorResetAt == nil || !got.TwoFactorResetAt.Equal(later) {
				t.Fatalf("after the reset: %+v, want off and reset at %v", got, later)
			}
		})

		t.Run("enrolling in the settings needs the pending seed read and no active one", func(t *testing.T) {
			at := now.Add(2 * time.Minute)
			must(t, s.SetTOTPPending(ctx, u.ID, []byte("seed-a"), at))
			codes := []store.RecoveryCode{{ID: "rc-1", UserID: u.ID, Digest: "d1", CreatedAt: at}, {ID: "rc-2", UserID: u.ID, Digest: "d2", CreatedAt: at}}
			stale := store.TOTPEnrolment{UserID: u.ID, Pending: []byte("seed-old"), Sealed: []byte("active-a"), Step: 7, Codes: codes, At: at,
				Record: store.ChangeRecord{Notice: notice("n-stale", store.NoticeTOTPEnabled, at)}}
			if err := s.EnrolTOTP(ctx, stale); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("enrolling another seed than the pending one: err = %v, want ErrConflict", err)
			}
			e := stale
			e.Pending = []byte("seed-a")
			e.Record = store.ChangeRecord{
				Events: []store.AuditEvent{{AccountID: acc.ID, Time: at, Type: "totp.enrolled", AuthID: u.AuthID}},
				Notice: notice("n-enrolled", store.NoticeTOTPEnabled, at),
			}
			must(t, s.EnrolTOTP(ctx, e))
			got, err := s.UserByID(ctx, u.ID)
			must(t, err)
			if !got.TOTPEnabled || got.TOTPPending != nil || string(got.TOTPSecret) != "active-a" || got.TOTPLastStep != 7 || !got.TOTPEnabledAt.Equal(at) {
				t.Fatalf("after enrolling: %+v", got)
			}
			if n, _ := s.CountUnusedRecoveryCodes(ctx, u.ID); n != 2 {
				t.Fatalf("recovery codes = %d, want 2", n)
			}
			e.Record.Notice = notice("n-again", store.NoticeTOTPEnabled, at)
			if err := s.EnrolTOTP(ctx, e); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("enrolling over an active seed: err = %v, want ErrConflict", err)
			}
			if got := notices(t, s, u.ID); len(got) != 1 || got[0].Kind != store.NoticeTOTPEnabled || got[0].IP != "192.0.2.1" || !got[0].At.Equal(at) {
				t.Fatalf("notices = %+v, want the one enrolment", got)
			}
		})

		t.Run("new recovery codes replace the old set", func(t *testing.T) {
			at := now.Add(3 * time.Minute)
			fresh := []store.RecoveryCode{{ID: "rc-3", UserID: u.ID, Digest: "d3", CreatedAt: at}}
			must(t, s.ReplaceRecoveryCodesWith(ctx, u.ID, fresh, store.ChangeRecord{Notice: notice("n-codes", store.NoticeRecoveryCodes, at)}))
			left, err := s.UnusedRecoveryCodes(ctx, u.ID)
			must(t, err)
			if len(left) != 1 || left[0].ID != "rc-3" {
				t.Fatalf("codes = %+v, want only the new one", left)
			}
			must(t, s.ResetTwoFactorWith(ctx, u.ID, at, store.ChangeRecord{Notice: notice("n-reset", store.NoticeTwoFactorReset, at)}))
			if n, _ := s.CountUnusedRecoveryCodes(ctx, u.ID); n != 0 {
				t.Fatalf("codes after the reset = %d", n)
			}
			kinds := []string{}
			for _, n := range notices(t, s, u.ID) {
				kinds = append(kinds, n.Kind)
			}
			if len(kinds) != 3 || kinds[1] != store.NoticeRecoveryCodes || kinds[2] != store.NoticeTwoFactorReset {
				t.Fatalf("notice kinds = %v", kinds)
			}
		})

		t.Run("a password changes only from the hash that was checked", func(t *testing.T) {
			at := now.Add(4 * time.Minute)
			err := s.ChangePassword(ctx, store.PasswordChange{UserID: u.ID, OldHash: "not-it", Hash: "hash-2", At: at})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("from a stale hash: err = %v, want ErrConflict", err)
			}
			// Sessions: the one making the change, another, and the
			// console's. The new password ends all but the first.
			for _, id := range []string{"pw-keep", "pw-other"} {
				must(t, s.CreateUserSession(ctx, &store.UserSession{ID: id, AccountID: acc.ID, UserID: u.ID, AttemptID: "att-" + id,
					AuthenticatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour)}))
			}
			must(t, s.CreateConsoleSession(ctx, &store.ConsoleSession{ID: "pw-console", AccountID: acc.ID, UserID: u.ID, AuthID: u.AuthID,
				AttemptID: "att-console", SignedInAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour)}, at.Add(-time.Hour)))
			must(t, s.ChangePassword(ctx, store.PasswordChange{UserID: u.ID, OldHash: "hash-1", Hash: "hash-2", At: at, Session: "pw-keep",
				Record: store.ChangeRecord{Notice: notice("n-password", store.NoticePasswordChanged, at)}}))
			got, err := s.UserByID(ctx, u.ID)
			must(t, err)
			if got.PasswordHash != "hash-2" || !got.PasswordChangedAt.Equal(at) || !got.PasswordSetAt.Equal(at) {
				t.Fatalf("after the change: %+v", got)
			}
			for id, live := range map[string]bool{"pw-keep": true, "pw-other": false} {
				sess, err := s.GetUserSession(ctx, id)
				must(t, err)
				if sess.ExpiresAt.After(at) != live {
					t.Errorf("session %s expires at %v (the change at %v), want live %v", id, sess.ExpiresAt, at, live)
				}
			}
			if cs, err := s.GetConsoleSession(ctx, "pw-console"); err != nil || cs.ExpiresAt.After(at) {
				t.Errorf("the console session after the password change: expires at %v (err %v), want ended", cs.ExpiresAt, err)
			}
			_, err = s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: acc.ID,
				From: store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}, To: store.AccountSettings{EmailDelivery: true},
				At: at, ConfirmedUsers: 1})
			must(t, err)
			err = s.ChangePassword(ctx, store.PasswordChange{UserID: u.ID, OldHash: "hash-2", Hash: "hash-3", At: at})
			if !errors.Is(err, store.ErrPasswordLoginOff) {
				t.Fatalf("with the account's switch off: err = %v, want ErrPasswordLoginOff", err)
			}
		})
	})
}

func TestUserSessions(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		acc, u := selfServiceFixture(t, s)
		sess := store.UserSession{ID: "digest-1", AccountID: acc.ID, UserID: u.ID, AttemptID: "att-1", AuthenticatedAt: now,
			LastSeenAt: now, ExpiresAt: now.Add(8 * time.Hour), IP: "192.0.2.1", UserAgent: "test"}
		must(t, s.CreateUserSession(ctx, &sess, store.AuditEvent{AccountID: acc.ID, Time: now, Type: "security.signed_in", AuthID: u.AuthID}))
		again := sess
		again.ID = "digest-2"
		if err := s.CreateUserSession(ctx, &again); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a second session of one sign-in: err = %v, want ErrConflict", err)
		}
		got, err := s.GetUserSession(ctx, "digest-1")
		must(t, err)
		if got.UserID != u.ID || !got.AuthenticatedAt.Equal(now) {
			t.Fatalf("session = %+v", got)
		}
		must(t, s.TouchUserSession(ctx, "digest-1", now.Add(time.Minute)))
		for want := 1; want <= 2; want++ {
			n, err := s.CountSessionPasswordFailure(ctx, "digest-1")
			must(t, err)
			if n != want {
				t.Fatalf("failures = %d, want %d", n, want)
			}
		}
		must(t, s.EndUserSession(ctx, "digest-1", now.Add(2*time.Minute)))
		if err := s.EndUserSession(ctx, "digest-1", now.Add(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ending it twice: err = %v, want ErrNotFound", err)
		}
		got, err = s.GetUserSession(ctx, "digest-1")
		must(t, err)
		if !got.ExpiresAt.Equal(now.Add(2*time.Minute)) || got.PasswordFailures != 2 || !got.LastSeenAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("ended session = %+v", got)
		}
		// The ended row keeps its sign-in from opening another session.
		if err := s.CreateUserSession(ctx, &again); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a session after sign-out from the same sign-in: err = %v, want ErrConflict", err)
		}
		// A day later it is cleared when the user signs in again.
		next := store.UserSession{ID: "digest-3", AccountID: acc.ID, UserID: u.ID, AttemptID: "att-2", AuthenticatedAt: now.Add(25 * time.Hour),
			LastSeenAt: now.Add(25 * time.Hour), ExpiresAt: now.Add(33 * time.Hour), IP: "192.0.2.1", UserAgent: "test"}
		must(t, s.CreateUserSession(ctx, &next))
		if _, err := s.GetUserSession(ctx, "digest-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the day-old ended session: err = %v, want ErrNotFound", err)
		}
	})
}

func TestEmailVerificationAndRecovery(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		acc, u := selfServiceFixture(t, s)
		request := func(id, purpose, attempt string, at time.Time) error {
			return s.RequestSelfServiceLink(ctx, store.SelfServiceLink{
				Link:  store.CredentialLink{ID: id, AccountID: acc.ID, UserID: u.ID, Purpose: purpose, AttemptID: attempt, CreatedAt: at},
				Since: at.Add(-time.Hour), Max: 3,
			})
		}
		draw := func(id string, expires time.Time) store.CredentialLink {
			l, err := s.DrawCredentialLink(ctx, id, "digest-"+id, []byte("sealed"), expires)
			must(t, err)
			return l
		}
		verify := func(l store.CredentialLink, at time.Time) error {
			return s.VerifyEmail(ctx, store.EmailVerification{LinkID: l.ID, Digest: l.Digest, UserID: u.ID, At: at})
		}
		user := func() store.User {
			got, err := s.UserByID(ctx, u.ID)
			must(t, err)
			return got
		}

		t.Run("a recover link needs a verified address", func(t *testing.T) {
			if err := request("r-0", store.LinkRecover, "att-1", now); !errors.Is(err, store.ErrEmailNotVerified) {
				t.Fatalf("err = %v, want ErrEmailNotVerified", err)
			}
		})

		t.Run("a verification link works once, while live, and a new one voids the old", func(t *testing.T) {
			must(t, request("v-1", store.LinkVerifyEmail, "", now))
			first := draw("v-1", now.Add(time.Hour))
			must(t, request("v-2", store.LinkVerifyEmail, "", now))
			if err := verify(first, now); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("a replaced link: err = %v, want ErrLinkGone", err)
			}
			second := draw("v-2", now.Add(time.Hour))
			if err := verify(second, now.Add(2*time.Hour)); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("an expired link: err = %v, want ErrLinkGone", err)
			}
			must(t, verify(second, now.Add(time.Minute)))
			if err := verify(second, now.Add(time.Minute)); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("a used link: err = %v, want ErrLinkGone", err)
			}
			if got := user(); got.EmailVerifiedAt == nil || !got.EmailVerifiedAt.Equal(now.Add(time.Minute)) {
				t.Fatalf("user = %+v, want verified", got)
			}
			must(t, request("v-3", store.LinkVerifyEmail, "", now))
			if err := request("v-4", store.LinkVerifyEmail, "", now); !errors.Is(err, store.ErrTooManyLinks) {
				t.Fatalf("a fourth link within the hour: err = %v, want ErrTooManyLinks", err)
			}
		})

		t.Run("a recover link needs its attempt at the TOTP step", func(t *testing.T) {
			if err := request("r-1", store.LinkRecover, "att-1", now); !errors.Is(err, store.ErrAttemptMovedOn) {
				t.Fatalf("no such attempt: err = %v, want ErrAttemptMovedOn", err)
			}
		})

		att := store.Attempt{ID: "att-1", AccountID: acc.ID, System: "@security", AuthID: u.AuthID, WorkflowID: "wf", RunID: "run",
			State: store.AttemptPending, Method: "password", StartedAt: now, UpdatedAt: now}
		_, err := s.InsertAttempt(ctx, &att)
		must(t, err)
		_, err = s.DB().NewUpdate().Model((*store.Attempt)(nil)).Set("step = ?", store.StepTOTP).Where("id = ?", att.ID).Exec(ctx)
		must(t, err)
		must(t, s.SetTOTPPending(ctx, u.ID, []byte("old-pending"), now))
		must(t, s.ActivateTOTP(ctx, u.ID, []byte("active"), 1, now))
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, []store.RecoveryCode{{ID: "rc", UserID: u.ID, Digest: "d", CreatedAt: now}}))
		recover := func(effect, digest string, at time.Time) store.RecoveryOutcome {
			n := store.NewNotice("notice-"+effect, acc.ID, u.ID, store.NoticeOf{Kind: store.NoticeRecoveredByEmail, At: at, By: store.NoticeBySignIn})
			out, err := s.RecoverByEmail(ctx, store.EmailRecovery{AttemptID: att.ID, Effect: effect, UserID: u.ID, LinkDigest: digest,
				Pending: []byte("new-pending"), At: at, Record: store.ChangeRecord{Notice: &n}})
			must(t, err)
			return out
		}

		t.Run("a wrong or expired recover link changes nothing", func(t *testing.T) {
			must(t, request("r-2", store.LinkRecover, att.ID, now))
			draw("r-2", now.Add(15*time.Minute))
			if out := recover("e-wrong", "digest-nope", now); out.Valid || out.Reason == "" {
				t.Fatalf("wrong digest: %+v", out)
			}
			if out := recover("e-late", "digest-r-2", now.Add(16*time.Minute)); out.Valid {
				t.Fatalf("expired: %+v", out)
			}
			got := user()
			if !got.TOTPEnabled || got.EmailVerifiedAt == nil {
				t.Fatalf("after refused recoveries: %+v", got)
			}
			if len(notices(t, s, u.ID)) != 0 {
				t.Fatal("a refused recovery queued a notice")
			}
		})

		t.Run("a recover link resets two-factor, moves the attempt to enrolment and uses the verification up, once", func(t *testing.T) {
			at := now.Add(time.Minute)
			out := recover("e-1", "digest-r-2", at)
			if !out.Valid {
				t.Fatalf("recovery = %+v", out)
			}
			if again := recover("e-1", "digest-r-2", at); again != out {
				t.Fatalf("the same effect again = %+v, want %+v", again, out)
			}
			got := user()
			if got.TOTPEnabled || got.TOTPSecret != nil || string(got.TOTPPending) != "new-pending" || got.EmailVerifiedAt != nil ||
				got.TwoFactorResetAt == nil || !got.TwoFactorResetAt.Equal(at) {
				t.Fatalf("user after recovery = %+v", got)
			}
			if n, _ := s.CountUnusedRecoveryCodes(ctx, u.ID); n != 0 {
				t.Fatalf("recovery codes left = %d", n)
			}
			a, err := s.GetAttempt(ctx, att.ID)
			must(t, err)
			if a.Step != store.StepEnrol {
				t.Fatalf("attempt step = %s, want enrol", a.Step)
			}
			if out := recover("e-2", "digest-r-2", at); out.Valid {
				t.Fatalf("the link twice: %+v", out)
			}
			if got := notices(t, s, u.ID); len(got) != 1 || got[0].Kind != store.NoticeRecoveredByEmail {
				t.Fatalf("notices = %+v, want one recovery", got)
			}
			if err := request("r-3", store.LinkRecover, att.ID, at); !errors.Is(err, store.ErrEmailNotVerified) {
				t.Fatalf("another recover link: err = %v, want ErrEmailNotVerified", err)
			}
		})

		t.Run("a new email address is not verified and kills the links to the old one", func(t *testing.T) {
			at := now.Add(2 * time.Minute)
			must(t, s.VerifyEmail(ctx, store.EmailVerification{LinkID: "v-3", Digest: draw("v-3", at.Add(time.Hour)).Digest, UserID: u.ID, At: at}))
			cur := user()
			cur.UpdatedAt = at
			must(t, s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: cur, SaveProfile: true}}))
			if got := user(); got.EmailVerifiedAt == nil {
				t.Fatal("saving the same address dropped its verification")
			}
			must(t, s.RequestSelfServiceLink(ctx, store.SelfServiceLink{
				Link:  store.CredentialLink{ID: "v-5", AccountID: acc.ID, UserID: u.ID, Purpose: store.LinkVerifyEmail, CreatedAt: at.Add(time.Hour)},
				Since: at, Max: 3,
			}))
			pending := draw("v-5", at.Add(2*time.Hour))
			cur.Email = "new@example.com"
			must(t, s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: cur, SaveProfile: true}}))
			if got := user(); got.EmailVerifiedAt != nil || got.Email != "new@example.com" {
				t.Fatalf("after a new address: %+v, want unverified", got)
			}
			if err := verify(pending, at.Add(time.Minute)); !errors.Is(err, store.ErrLinkGone) {
				t.Fatalf("a link sent to the old address: err = %v, want ErrLinkGone", err)
			}
		})
	})
}

func TestPasswordUsersByEmail(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, u := selfServiceFixture(t, s)
		now := time.Now().UTC()
		// Same address, no password; and another user without the switch.
		other := store.User{ID: "u2", AccountID: acc.ID, AuthID: "bob", Email: "A@Example.com", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateUser(ctx, &other))
		got, err := s.PasswordUsersByEmail(ctx, acc.ID, "A@EXAMPLE.COM", 2)
		must(t, err)
		if len(got) != 1 || got[0].ID != u.ID {
			t.Fatalf("users = %+v, want only %s", got, u.AuthID)
		}
		if got, _ := s.PasswordUsersByEmail(ctx, "other", u.Email, 2); len(got) != 0 {
			t.Fatalf("another account's users = %+v", got)
		}
		_, err = s.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: acc.ID,
			From: store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}, To: store.AccountSettings{EmailDelivery: true},
			At: now, ConfirmedUsers: 1})
		must(t, err)
		if got, _ := s.PasswordUsersByEmail(ctx, acc.ID, u.Email, 2); len(got) != 0 {
			t.Fatalf("with the account's switch off: %+v", got)
		}
	})
}
