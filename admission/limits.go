package admission

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// Limits bound how often attempts may start. They stop message bombing and
// guessing at scale; more starts than a limit in its window are refused
// (and audited) before anything is sent. Zero means the default, negative
// lifts the limit.
type Limits struct {
	// Application starts (every system but the console): per user across
	// systems, in Window; per account, per minute.
	UserStarts    int           // default 10
	AccountStarts int           // default 600
	Window        time.Duration // default 15m

	// Console sign-ins, which anyone can start (and, with budgets of their
	// own, sign-ins to the security settings). An address gets
	// ConsoleUserIPStarts per user in Window, so one party cannot spend
	// another's budget; addresses the user never signed in from share
	// ConsoleUserStarts per user in Window and, across the account,
	// ConsoleAccountStarts a minute. An address a user has signed in from
	// before is limited only by its own budget: a flood from elsewhere
	// cannot keep the genuine administrator out.
	ConsoleUserIPStarts  int // default 5
	ConsoleUserStarts    int // default 20
	ConsoleAccountStarts int // default 120
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.UserStarts, 10)
	def(&l.AccountStarts, 600)
	def(&l.ConsoleUserIPStarts, 5)
	def(&l.ConsoleUserStarts, 20)
	def(&l.ConsoleAccountStarts, 120)
	if l.Window == 0 {
		l.Window = 15 * time.Minute
	}
	return l
}

// LimitStore is what the start limits read.
type LimitStore interface {
	CountAttemptsEach(ctx context.Context, fs ...store.AttemptCount) ([]int, error)
	KnownIPOf(ctx context.Context, accountID, authid, ip string) (bool, error)
}

// StartRequest is a start the limits judge.
type StartRequest struct {
	AccountID, System, AuthID, IP string
	At                            time.Time
	// Recorded is true when the start's own attempt is already stored (and
	// so counted); false when it is judged before anything is recorded.
	Recorded bool
	// InFlight counts the subject's starts let through before this one
	// whose attempts are not stored yet: they count as if they were.
	InFlight int
}

// Exceeded says which limit the start exceeds, or "".
func (l Limits) Exceeded(ctx context.Context, st LimitStore, req StartRequest) (string, error) {
	l = l.withDefaults()
	self := req.InFlight
	if !req.Recorded {
		self++
	}
	type limit struct {
		max   int
		count store.AttemptCount
		what  string
	}
	var limits []limit
	anonymous := []string{attempt.ConsoleSystem, attempt.SecuritySystem}
	if attempt.Anonymous(req.System) {
		kind := "console sign-ins"
		if req.System == attempt.SecuritySystem {
			kind = "security settings sign-ins"
		}
		limits = append(limits, limit{l.ConsoleUserIPStarts, store.AttemptCount{
			AccountID: req.AccountID, AuthID: req.AuthID, System: req.System, IP: req.IP, Since: req.At.Add(-l.Window),
		}, fmt.Sprintf("%s for this user from %s in %s", kind, req.IP, l.Window)})
		known, err := st.KnownIPOf(ctx, req.AccountID, req.AuthID, req.IP)
		if err != nil {
			return "", err
		}
		if !known {
			limits = append(limits, limit{l.ConsoleUserStarts, store.AttemptCount{
				AccountID: req.AccountID, AuthID: req.AuthID, System: req.System, UnknownIPs: true, Since: req.At.Add(-l.Window),
			}, fmt.Sprintf("%s for this user from unfamiliar addresses in %s", kind, l.Window)})
		}
		if known, err = st.KnownIPOf(ctx, req.AccountID, "", req.IP); err != nil {
			return "", err
		}
		if !known {
			limits = append(limits, limit{l.ConsoleAccountStarts, store.AttemptCount{
				AccountID: req.AccountID, System: req.System, UnknownIPs: true, Since: req.At.Add(-time.Minute),
			}, kind + " for the account from unfamiliar addresses in the last minute"})
		}
	} else {
		limits = append(limits,
			limit{l.UserStarts, store.AttemptCount{
				AccountID: req.AccountID, AuthID: req.AuthID, NotSystems: anonymous, Since: req.At.Add(-l.Window),
			}, fmt.Sprintf("starts for this user in %s", l.Window)},
			// The account's starts come from its per-second counts: a
			// count of its attempts would read every one of the minute.
			limit{l.AccountStarts, store.AttemptCount{
				AccountID: req.AccountID, FromCounter: true, Since: req.At.Add(-time.Minute),
			}, "starts for the account in the last minute"})
	}
	// Every count in one query: a start pays one round trip for its limits.
	limits = slices.DeleteFunc(limits, func(lim limit) bool { return lim.max < 0 })
	counts := make([]store.AttemptCount, len(limits))
	for i, lim := range limits {
		// One past the limit is enough to know it is exceeded.
		counts[i] = lim.count
		counts[i].AtMost = lim.max + 1
	}
	ns, err := st.CountAttemptsEach(ctx, counts...)
	if err != nil {
		return "", err
	}
	for i, lim := range limits {
		n := ns[i] + self
		if lim.count.FromCounter && req.Recorded {
			// A start is counted when its begin commits: the recorded
			// start asking is not in the counts yet.
			n++
		}
		if n > lim.max {
			// n is exact up to one past the limit, so the figure is the
			// real count when a start first crosses it.
			return fmt.Sprintf("rate limited: %d %s (limit %d)", n, lim.what, lim.max), nil
		}
	}
	return "", nil
}
