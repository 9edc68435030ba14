package testplugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// File names inside the destination directory.
const (
	DeliveredFile   = "delivered"
	UnavailableFile = "unavailable"
	SlowFile        = "slow"
)

// Fault names one defect. Each defeats exactly one conformance check.
type Fault string

const (
	// Healthy has no defect: every check must pass.
	Healthy Fault = "healthy"
	// Anonymous reports no name, version or channels.
	Anonymous Fault = "anonymous"
	// Drop reports success without delivering.
	Drop Fault = "drop"
	// DeliverTwice delivers every message twice.
	DeliverTwice Fault = "deliver-twice"
	// Redeliver forgets the IDs it delivered, so a retry delivers again.
	// Served without the SDK's ledger (see Serve), as a plugin in another
	// language would be.
	Redeliver Fault = "redeliver"
	// RacyRetry remembers the IDs it delivered, but only once a delivery
	// is done, so a retry racing the original delivers again. Served
	// without the SDK's ledger, like Redeliver.
	RacyRetry Fault = "racy-retry"
	// TemporaryInvalid refuses an invalid request with a temporary error,
	// so the host would retry it forever.
	TemporaryInvalid Fault = "temporary-invalid"
	// LenientConfig accepts an empty configuration and only fails (and
	// temporarily) at Send.
	LenientConfig Fault = "lenient-config"
	// PermanentOutage reports an unavailable destination as permanent, so
	// the host would give up on a message that would have gone through.
	PermanentOutage Fault = "permanent-outage"
	// Stuck blocks forever on a hanging destination, ignoring its context
	// and holding its lock, so it serves nothing afterwards.
	Stuck Fault = "stuck"
	// LossyConcurrent reports success for a send that overlaps another
	// without delivering it.
	LossyConcurrent Fault = "lossy-concurrent"
)

// overlap is how long a LossyConcurrent send lingers so that concurrent
// sends do overlap.
const overlap = 100 * time.Millisecond

// Plugin is the directory-backed delivery plugin with an optional Fault.
type Plugin struct {
	fault Fault

	mu       sync.Mutex
	dir      string
	seen     map[string]bool
	inflight int
}

var _ sdk.Delivery = (*Plugin)(nil)

// New returns an unconfigured Plugin with fault.
func New(fault Fault) *Plugin {
	return &Plugin{fault: fault, seen: make(map[string]bool)}
}

// Info describes the plugin.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	if p.fault == Anonymous {
		return sdk.Info{}, nil
	}
	return sdk.Info{Name: "testplugin", Version: "0.0.0", Channels: []string{"test"}}, nil
}

// Configure takes {"dir": "/absolute/dir"}.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	dir := req.Config["dir"]
	if dir == "" && p.fault != LenientConfig {
		return sdk.Permanent(errors.New(`missing "dir"`))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dir = dir
	return nil
}

// Send appends req.ID to the delivered file, unless the destination is
// unavailable or slow, or the ID was delivered already.
func (p *Plugin) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	if req.To == "" {
		err := errors.New("missing recipient")
		if p.fault == TemporaryInvalid {
			return sdk.SendResponse{}, err
		}
		return sdk.SendResponse{}, sdk.Permanent(err)
	}

	p.mu.Lock()
	dir := p.dir
	p.inflight++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
	}()
	if dir == "" {
		return sdk.SendResponse{}, errors.New("not configured")
	}

	if exists(filepath.Join(dir, UnavailableFile)) {
		err := errors.New("destination unavailable")
		if p.fault == PermanentOutage {
			return sdk.SendResponse{}, sdk.Permanent(err)
		}
		return sdk.SendResponse{}, err
	}
	if exists(filepath.Join(dir, SlowFile)) {
		if p.fault == Stuck {
			p.mu.Lock()
			select {} // never unlocks: the defect under test
		}
		if err := waitGone(ctx, filepath.Join(dir, SlowFile)); err != nil {
			return sdk.SendResponse{}, err
		}
	}
	if p.fault == LossyConcurrent {
		time.Sleep(overlap)
	}
	if p.fault == RacyRetry {
		return p.sendRacy(dir, req)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault == LossyConcurrent && p.inflight > 1 {
		return sdk.SendResponse{}, nil
	}
	if p.fault == Drop {
		return sdk.SendResponse{}, nil
	}
	if p.seen[req.ID] {
		return sdk.SendResponse{MessageID: req.ID}, nil
	}
	times := 1
	if p.fault == DeliverTwice {
		times = 2
	}
	for range times {
		if err := appendLine(filepath.Join(dir, DeliveredFile), req.ID); err != nil {
			return sdk.SendResponse{}, err
		}
	}
	if p.fault != Redeliver {
		p.seen[req.ID] = true
	}
	return sdk.SendResponse{MessageID: req.ID}, nil
}

// sendRacy checks and records req.ID under the lock but delivers outside
// it: the defect of RacyRetry.
func (p *Plugin) sendRacy(dir string, req sdk.SendRequest) (sdk.SendResponse, error) {
	p.mu.Lock()
	seen := p.seen[req.ID]
	p.mu.Unlock()
	if seen {
		return sdk.SendResponse{MessageID: req.ID}, nil
	}
	time.Sleep(overlap)
	if err := appendLine(filepath.Join(dir, DeliveredFile), req.ID); err != nil {
		return sdk.SendResponse{}, err
	}
	p.mu.Lock()
	p.seen[req.ID] = true
	p.mu.Unlock()
	return sdk.SendResponse{MessageID: req.ID}, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// waitGone polls until path no longer exists: the destination stops
// hanging when the test removes the marker.
func waitGone(ctx context.Context, path string) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for exists(path) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", path, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
