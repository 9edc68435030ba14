package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/store"
)

// TestHotReadsArePrepared: the reads every sign-in and poll makes run as
// prepared statements with bind parameters (the values are not in their
// text, so PostgreSQL plans each once per connection), through bun's
// hooks like every other statement, alone and within a transaction.
func TestHotReadsArePrepared(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, sys, u := seed(t, s)
		must(t, s.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: sys.ID, Method: "pin"}}))
		// Every statement prepares on both databases.
		must(t, s.PrepareAll(ctx))
		texts := storetest.CountStatements(s)

		values := []string{"alice", "198.51.100.77", "no-such-key-hash", "att-prepared", acc.ID, sys.ID, u.ID}
		reads := []struct {
			name, marker string
			read         func(s *store.Store) error
		}{
			{"GetSignInUser", "known_ip", func(s *store.Store) error {
				got, err := s.GetSignInUser(ctx, acc.ID, "alice", sys.ID, "198.51.100.77")
				if err == nil && (got.ID != u.ID || got.Assigned != "pin") {
					t.Errorf("sign-in user = %+v", got)
				}
				return err
			}},
			{"Poll", "api_keys AS k", func(s *store.Store) error {
				_, _, _, err := s.Poll(ctx, "no-such-key-hash", store.AttemptPoll{System: "vpn", AuthID: "alice"})
				if !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("poll with an unknown key: %w", err)
				}
				return nil
			}},
			{"APIKeyByHash", "(hash = ", func(s *store.Store) error {
				if _, err := s.APIKeyByHash(ctx, "no-such-key-hash"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("unknown key: %w", err)
				}
				return nil
			}},
			{"GetSystem", `FROM "systems"`, func(s *store.Store) error {
				got, err := s.GetSystem(ctx, acc.ID, "vpn")
				if err == nil && got.ID != sys.ID {
					t.Errorf("system = %+v", got)
				}
				return err
			}},
			{"GetAccount", "top_name", func(s *store.Store) error {
				got, err := s.GetAccount(ctx, acc.ID)
				if err == nil && (got.ID != acc.ID || got.TopID != acc.ID || got.EmailPasswordLogin) {
					t.Errorf("account = %+v", got)
				}
				return err
			}},
			{"EffectivePolicy", "account_policies p", func(s *store.Store) error {
				owner, version, err := s.EffectivePolicy(ctx, acc.ID)
				if err == nil && (owner != acc.ID || version != store.BuiltinPolicyVersion) {
					t.Errorf("effective policy = %s %d", owner, version)
				}
				return err
			}},
			{"FactorLocks", `FROM "factor_lockouts"`, func(s *store.Store) error {
				locks, err := s.FactorLocks(ctx, u.ID)
				if err == nil && len(locks) != 0 {
					t.Errorf("factor locks = %+v", locks)
				}
				return err
			}},
			{"MessageLevels", "message_templates m", func(s *store.Store) error {
				_, err := s.MessageLevels(ctx, acc.ID, "vpn")
				return err
			}},
			{"LoadEffect", `FROM "attempt_effects"`, func(s *store.Store) error {
				var out struct{}
				found, err := s.LoadEffect(ctx, "att-prepared-none", "begin", &out)
				if err == nil && found {
					t.Error("an effect that was never applied was found")
				}
				return err
			}},
		}
		errRollBack := errors.New("roll back")
		for i, r := range reads {
			texts.TakeTexts()
			must(t, r.read(s))
			// Within a transaction, on its connection.
			a := &store.Attempt{ID: fmt.Sprintf("att-prepared-%d", i), AccountID: acc.ID, System: "vpn", AuthID: "alice",
				State: store.AttemptPending, StartedAt: time.Now().UTC()}
			_, err := s.BeginAttempt(ctx, a, "begin", nil, a.StartedAt, nil, func(ctx context.Context, tx *store.Store, _ store.Opening) (store.Publication, error) {
				if err := r.read(tx); err != nil {
					return store.Publication{}, err
				}
				return store.Publication{}, errRollBack
			})
			if !errors.Is(err, errRollBack) {
				t.Fatalf("%s within a transaction: %v", r.name, err)
			}
			var runs []string
			for _, q := range texts.TakeTexts() {
				if strings.Contains(q, r.marker) {
					runs = append(runs, q)
				}
			}
			if len(runs) < 2 {
				t.Fatalf("%s ran %d times through bun's hooks, want at least 2: %q", r.name, len(runs), runs)
			}
			for _, q := range runs {
				for _, value := range values {
					if strings.Contains(q, value) {
						t.Errorf("%s: the value %q is in the statement's text: %s", r.name, value, q)
					}
				}
			}
		}
	})
}

// TestOtherAttemptsComparePreparedTimes: the subject's other attempts are
// found by comparing start times passed as arguments, which SQLite
// compares as the texts bun stored; older pending attempts are cancelled,
// a newer one supersedes, prepared or not.
func TestOtherAttemptsComparePreparedTimes(t *testing.T) {
	for _, prepared := range []bool{false, true} {
		t.Run(fmt.Sprint("prepared=", prepared), func(t *testing.T) {
			eachDatabase(t, func(t *testing.T, s *store.Store) {
				ctx := context.Background()
				acc, _, _ := seed(t, s)
				if prepared {
					must(t, s.PrepareAll(ctx))
				}
				t0 := time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC)
				attempt := func(id string, at time.Time) store.Attempt {
					return store.Attempt{ID: id, AccountID: acc.ID, System: "vpn", AuthID: "alice", State: store.AttemptPending, StartedAt: at}
				}
				first := attempt("first", t0)
				_, err := s.InsertAttempt(ctx, &first)
				must(t, err)
				// A microsecond later: older is older even within a second.
				ids, superseded, err := s.CancelOtherAttempts(ctx, attempt("second", t0.Add(time.Microsecond)), t0)
				must(t, err)
				if superseded || len(ids) != 1 || ids[0] != "first" {
					t.Fatalf("a newer start cancelled %v, superseded %v; want first cancelled", ids, superseded)
				}
				second := attempt("second", t0.Add(time.Microsecond))
				_, err = s.InsertAttempt(ctx, &second)
				must(t, err)
				ids, superseded, err = s.CancelOtherAttempts(ctx, attempt("late", t0), t0)
				must(t, err)
				if !superseded || len(ids) != 1 || ids[0] != "late" {
					t.Fatalf("an older start that began late: cancelled %v, superseded %v; want itself superseded", ids, superseded)
				}
			})
		})
	}
}
