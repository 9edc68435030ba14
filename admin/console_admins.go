package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// ConsoleSystem is every account's built-in system: its active users are
// the account's console administrators.
const ConsoleSystem = store.ConsoleSystem

// LastConsoleAdminError refuses a change that would leave the account
// without an active console administrator: AuthID is the last one. The
// account would still be reachable with admin API keys, but nobody could
// sign in to the console.
type LastConsoleAdminError struct{ AuthID string }

func (e *LastConsoleAdminError) Error() string {
	return fmt.Sprintf("%s is the account's last console administrator: assign the console system to another active user first", e.AuthID)
}

// Unwrap makes the refusal the store's: errors.Is(err,
// store.ErrLastConsoleAdmin) holds whether the check here or the store's
// transaction refused.
func (e *LastConsoleAdminError) Unwrap() error { return store.ErrLastConsoleAdmin }

// ConsoleAdminStore is what ConsoleAdmins reads.
type ConsoleAdminStore interface {
	ConsoleUser(ctx context.Context, userID, system string) (store.User, error)
	CountConsoleUsers(ctx context.Context, accountID, system, exceptUserID string) (int, error)
}

var _ ConsoleAdminStore = (*store.Store)(nil)

// ConsoleAdmins answers whether a change may take a user's console
// administration away.
type ConsoleAdmins struct {
	store ConsoleAdminStore
}

// NewConsoleAdmins returns the console administrators' rule over st.
func NewConsoleAdmins(st ConsoleAdminStore) *ConsoleAdmins {
	return &ConsoleAdmins{store: st}
}

// Keeps returns a *LastConsoleAdminError when u is an active console
// administrator and no other active user of u's account is one: then
// disabling, deleting, unassigning or moving u is refused. It reads before
// the change's transaction, so that the refusal comes before the change's
// other checks; the store checks again inside the transaction, where two
// administrators removing each other at once cannot both pass.
func (a *ConsoleAdmins) Keeps(ctx context.Context, u store.User) error {
	if _, err := a.store.ConsoleUser(ctx, u.ID, ConsoleSystem); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("check console administrator %s: %w", u.AuthID, err)
	}
	others, err := a.store.CountConsoleUsers(ctx, u.AccountID, ConsoleSystem, u.ID)
	if err != nil {
		return fmt.Errorf("count console administrators: %w", err)
	}
	if others == 0 {
		return &LastConsoleAdminError{AuthID: u.AuthID}
	}
	return nil
}

// KeepConsoleAdmins adds an error to the rows of an import that would take
// the last active console administrators of an organisation away
// (disabling them or removing the console system), when the import would
// leave none. current is the organisation's users by authid; rows already
// in error are counted as not applied.
func KeepConsoleAdmins(changes []userio.Change, current map[string]userio.Record) {
	holds := func(r userio.Record) bool {
		return r.Status != userio.StatusDisabled && slices.ContainsFunc(r.Systems, func(a userio.Assignment) bool { return a.System == ConsoleSystem })
	}
	after := make(map[string]bool, len(current))
	before := 0
	for id, r := range current {
		after[id] = holds(r)
		if after[id] {
			before++
		}
	}
	for _, c := range changes {
		if c.OK() {
			after[c.AuthID] = holds(c.Result)
		}
	}
	if before == 0 || slices.Contains(slices.Collect(maps.Values(after)), true) {
		return
	}
	for i, c := range changes {
		if c.OK() && holds(current[c.AuthID]) && !holds(c.Result) {
			changes[i].Errors = append(changes[i].Errors, fmt.Sprintf(
				"this would leave the account without an active user of system %q (its console administrators): keep one, or assign it to another user in the file", ConsoleSystem))
		}
	}
}
