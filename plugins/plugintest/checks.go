package plugintest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// check is one behaviour a delivery plugin must have. run returns what is
// wrong rather than failing t itself, so that the kit's own tests can call
// it on a broken plugin and expect an error.
type check struct {
	name string
	// needs, if set, says why the check cannot run against the target
	// (a missing Unavailable or Slow), or "".
	needs func(Target) string
	run   func(t testing.TB, k *kit) error
}

// checks returns the checks in the order Run runs them: the basics first,
// so that a plugin that does not start fails there and not in a confusing
// later check; then the ones that change the destination's state.
func checks() []check {
	return []check{
		{name: "handshake and Info describe the plugin", run: checkInfo},
		{name: "a send is delivered exactly once", run: checkDeliveredOnce},
		{name: "a retried send with the same ID is not delivered again", run: checkRetryNotRedelivered},
		{name: "concurrent sends of the same ID are delivered once", run: checkConcurrentDuplicates},
		{name: "an invalid request is refused permanently", run: checkInvalidRefused},
		{name: "an empty configuration is refused permanently", run: checkBadConfigRefused},
		{name: "an unavailable destination fails temporarily and the retry is delivered once", needs: needsUnavailable, run: checkUnavailable},
		{name: "a hanging destination is bounded by the caller's deadline", needs: needsSlow, run: checkSlow},
		{name: "concurrent sends are each delivered once", run: checkConcurrent},
	}
}

func needsUnavailable(tg Target) string {
	if tg.Unavailable == nil {
		return "Target.Unavailable is not set"
	}
	return ""
}

func needsSlow(tg Target) string {
	if tg.Slow == nil {
		return "Target.Slow is not set"
	}
	return ""
}

// checkInfo launches the plugin (handshake, protocol version, Configure with
// the target's Config) and checks what it says about itself. The host uses
// the channels to route messages, so Valid's channel must be among them.
func checkInfo(t testing.TB, k *kit) error {
	ctx, cancel := k.context(t)
	defer cancel()
	info, err := k.host.Info(ctx, k.target.Name)
	if err != nil {
		return fmt.Errorf("launch and describe the plugin: %w", err)
	}
	var errs []error
	if info.Name == "" {
		errs = append(errs, errors.New("the plugin reports no name in Info"))
	}
	if info.Version == "" {
		errs = append(errs, errors.New("the plugin reports no version in Info"))
	}
	if len(info.Channels) == 0 {
		errs = append(errs, errors.New("the plugin reports no channels in Info"))
	} else if ch := k.target.Valid.Channel; ch != "" && !slices.Contains(info.Channels, ch) {
		errs = append(errs, fmt.Errorf("the plugin reports channels %q in Info, which lack Valid's channel %q", info.Channels, ch))
	}
	return errors.Join(errs...)
}

func checkDeliveredOnce(t testing.TB, k *kit) error {
	id := newID()
	if err := k.send(t, nil, k.target.Valid, id); err != nil {
		return fmt.Errorf("send Valid: %w", err)
	}
	return k.delivered(t, id, 1, "after one send")
}

// checkRetryNotRedelivered sends the same ID twice, as the host does when
// an earlier attempt's answer was lost: the plugin must remember the ID and
// report success, with the first send's message ID, without delivering
// again. A plugin served by sdk.ServeDelivery gets this from the SDK; the
// check is for plugins that speak the protocol themselves.
func checkRetryNotRedelivered(t testing.TB, k *kit) error {
	id := newID()
	var resps [2]sdk.SendResponse
	for i := range resps {
		var err error
		if resps[i], err = k.sendResp(t, nil, k.target.Valid, id); err != nil {
			return fmt.Errorf("send Valid (try %d of 2): %w", i+1, err)
		}
	}
	if err := k.delivered(t, id, 1, "after a retry with the same ID (the plugin must remember the IDs it delivered)"); err != nil {
		return err
	}
	if resps[0].MessageID != resps[1].MessageID {
		return fmt.Errorf("the retry answered message ID %q, the first send %q: a retry must get the first send's answer", resps[1].MessageID, resps[0].MessageID)
	}
	return nil
}

// duplicates is how many sends of one ID checkConcurrentDuplicates makes
// at once.
const duplicates = 5

// checkConcurrentDuplicates sends one ID several times at once, as when the
// host's retry races a send still in flight: it must be delivered once, and
// every send must succeed.
func checkConcurrentDuplicates(t testing.TB, k *kit) error {
	id := newID()
	sendErrs := make([]error, duplicates)
	var wg sync.WaitGroup
	for i := range sendErrs {
		wg.Go(func() {
			// No t.Fatal here: this is not the test's goroutine.
			sendErrs[i] = k.send(t, nil, k.target.Valid, id)
		})
	}
	wg.Wait()
	var errs []error
	for i, err := range sendErrs {
		if err != nil {
			errs = append(errs, fmt.Errorf("concurrent send %d of one ID: %w", i+1, err))
		}
	}
	if err := k.delivered(t, id, 1, fmt.Sprintf("%d concurrent sends of one ID (a retry racing the original must wait for it)", duplicates)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkInvalidRefused requires ErrPermanent: a temporary error would make
// the host retry a message that can never go through.
func checkInvalidRefused(t testing.TB, k *kit) error {
	id := newID()
	err := k.send(t, nil, k.target.Invalid, id)
	switch {
	case err == nil:
		return errors.New("send Invalid succeeded; want a permanent error (sdk.Permanent)")
	case !errors.Is(err, sdk.ErrPermanent):
		return fmt.Errorf("send Invalid: error is not permanent (wrap it with sdk.Permanent): %w", err)
	}
	return k.delivered(t, id, 0, "Invalid")
}

// checkBadConfigRefused launches a second plugin process with an empty
// configuration. The host calls Configure on launch, so its error is what
// the Send returns; it must be permanent, or every message would be retried
// until an operator noticed.
func checkBadConfigRefused(t testing.TB, k *kit) error {
	h, err := host.New(k.logger.With("config", "empty"), host.Spec{
		Name:    k.target.Name,
		Command: k.target.Command,
		Config:  map[string]string{},
	})
	if err != nil {
		return fmt.Errorf("start a second host: %w", err)
	}
	defer h.Close()

	id := newID()
	err = k.send(t, h, k.target.Valid, id)
	switch {
	case err == nil:
		return errors.New("send with an empty configuration succeeded; Configure must refuse it with sdk.Permanent")
	case !errors.Is(err, sdk.ErrPermanent):
		return fmt.Errorf("send with an empty configuration: error is not permanent (Configure must refuse with sdk.Permanent): %w", err)
	}
	return k.delivered(t, id, 0, "with an empty configuration")
}

// checkUnavailable models an outage: the send must fail temporarily (the
// host retries later), and the retry after recovery, with the same ID,
// must be delivered once: a failed attempt must not be remembered as
// delivered.
func checkUnavailable(t testing.TB, k *kit) error {
	id := newID()
	k.target.Unavailable(t, true)
	err := k.send(t, nil, k.target.Valid, id)
	k.target.Unavailable(t, false)
	switch {
	case err == nil:
		return errors.New("send to an unavailable destination succeeded; want a temporary error")
	case errors.Is(err, sdk.ErrPermanent):
		return fmt.Errorf("send to an unavailable destination failed permanently; want a temporary error so the host retries: %w", err)
	}
	if err := k.send(t, nil, k.target.Valid, id); err != nil {
		return fmt.Errorf("retry after the destination recovered: %w", err)
	}
	return k.delivered(t, id, 1, "after an outage and a retry with the same ID")
}

// slowDeadline and slowBound: a send to a hanging destination with a
// slowDeadline context must come back within slowBound. The host enforces
// the deadline on its side, so the point is mostly what follows: the
// plugin must still serve once the destination answers again, which a
// plugin that ignores its context (and blocks a lock or a worker) does not.
const (
	slowDeadline = 500 * time.Millisecond
	slowBound    = 3 * time.Second
)

func checkSlow(t testing.TB, k *kit) error {
	// Launch first, so the short deadline measures the send, not the
	// plugin's start.
	ctx, cancel := k.context(t)
	_, err := k.host.Info(ctx, k.target.Name)
	cancel()
	if err != nil {
		return fmt.Errorf("launch the plugin: %w", err)
	}

	k.target.Slow(t, true)
	ctx, cancel = context.WithTimeout(t.Context(), slowDeadline)
	start := time.Now()
	err = k.sendCtx(ctx, nil, k.target.Valid, newID())
	elapsed := time.Since(start)
	cancel()
	k.target.Slow(t, false)

	var errs []error
	switch {
	case err == nil:
		errs = append(errs, errors.New("send to a hanging destination succeeded; want a temporary error"))
	case errors.Is(err, sdk.ErrPermanent):
		errs = append(errs, fmt.Errorf("send to a hanging destination failed permanently; want a temporary error: %w", err))
	}
	if elapsed > slowBound {
		errs = append(errs, fmt.Errorf("send to a hanging destination returned after %v; the caller's %v deadline must bound it", elapsed.Round(time.Millisecond), slowDeadline))
	}
	id := newID()
	if err := k.send(t, nil, k.target.Valid, id); err != nil {
		errs = append(errs, fmt.Errorf("send after the destination answers again (the plugin must honour its context and keep serving): %w", err))
	} else if err := k.delivered(t, id, 1, "after the destination answers again"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// concurrency is how many sends checkConcurrent makes at once; the host
// makes concurrent calls whenever several users sign in.
const concurrency = 10

func checkConcurrent(t testing.TB, k *kit) error {
	ids := make([]string, concurrency)
	sendErrs := make([]error, concurrency)
	var wg sync.WaitGroup
	for i := range ids {
		ids[i] = newID()
		wg.Go(func() {
			// No t.Fatal here: this is not the test's goroutine.
			sendErrs[i] = k.send(t, nil, k.target.Valid, ids[i])
		})
	}
	wg.Wait()

	var errs []error
	for i, id := range ids {
		if sendErrs[i] != nil {
			errs = append(errs, fmt.Errorf("concurrent send %d: %w", i+1, sendErrs[i]))
			continue
		}
		if err := k.delivered(t, id, 1, fmt.Sprintf("concurrent send %d", i+1)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
