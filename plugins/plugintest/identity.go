package plugintest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// IdentityTarget describes an identity plugin under test.
type IdentityTarget struct {
	Name    string            // plugin name used with the host, e.g. "directory"
	Command []string          // argv of the plugin executable
	Config  map[string]string // passed to Configure; must make Known resolvable
	Known   sdk.LookupRequest // a user the plugin must find
	// Want is what Known must resolve to: Found true, the other fields
	// compared one by one (a nil and an empty slice or map are equal).
	Want    sdk.Identity
	Unknown sdk.LookupRequest // a user the plugin must not find
}

func (tg IdentityTarget) validate() error {
	var errs []error
	if tg.Name == "" {
		errs = append(errs, errors.New("target has no Name"))
	}
	if len(tg.Command) == 0 || tg.Command[0] == "" {
		errs = append(errs, errors.New("target has no Command"))
	}
	if tg.Known.AuthID == "" {
		errs = append(errs, errors.New("target has no Known.AuthID"))
	}
	if tg.Unknown.AuthID == "" {
		errs = append(errs, errors.New("target has no Unknown.AuthID"))
	}
	if tg.Known == tg.Unknown {
		errs = append(errs, errors.New("target's Known and Unknown are the same user"))
	}
	if !tg.Want.Found {
		errs = append(errs, errors.New("target's Want has Found false: Known must be a user the plugin finds"))
	}
	return errors.Join(errs...)
}

// RunIdentity checks an identity plugin through the real host
// (plugins/host, with Kind identity), as Run does for delivery plugins.
// Each check is a subtest named after the behaviour it requires; they run
// one after another, and when one fails the host's and the plugin's logs
// are printed after the last.
func RunIdentity(t *testing.T, target IdentityTarget) {
	t.Helper()
	k, err := newIdentityKit(t, target)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	for _, c := range identityChecks() {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(t, k); err != nil {
				t.Error(err)
			}
		})
	}
}

// identityKit is the state the identity checks share: one host running the
// plugin as an identity plugin.
type identityKit struct {
	target  IdentityTarget
	host    *host.Host
	logger  *slog.Logger
	timeout time.Duration
}

// newIdentityKit validates target and starts a host for it; t's cleanup
// closes the host and, if t failed, prints the logs.
func newIdentityKit(t testing.TB, target IdentityTarget) (*identityKit, error) {
	t.Helper()
	if err := target.validate(); err != nil {
		return nil, err
	}
	target.Command = slices.Clone(target.Command)
	target.Config = maps.Clone(target.Config)
	h, logger, err := startHost(t, host.Spec{Name: target.Name, Kind: sdk.KindIdentity, Command: target.Command, Config: target.Config})
	if err != nil {
		return nil, err
	}
	return &identityKit{target: target, host: h, logger: logger, timeout: defaultTimeout}, nil
}

func (k *identityKit) context(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), k.timeout)
}

// lookup resolves req through h (the kit's host when nil), bounded by the
// kit's timeout.
func (k *identityKit) lookup(t testing.TB, h *host.Host, req sdk.LookupRequest) (sdk.Identity, error) {
	if h == nil {
		h = k.host
	}
	ctx, cancel := k.context(t)
	defer cancel()
	return h.Lookup(ctx, k.target.Name, req)
}

// secondHost starts another host for the target's command, of kind and
// with config; the caller closes it.
func (k *identityKit) secondHost(what, kind string, config map[string]string) (*host.Host, error) {
	h, err := host.New(k.logger.With("host", what), host.Spec{
		Name:    k.target.Name,
		Kind:    kind,
		Command: k.target.Command,
		Config:  config,
	})
	if err != nil {
		return nil, fmt.Errorf("start a second host (%s): %w", what, err)
	}
	return h, nil
}

// identityCheck is one behaviour an identity plugin must have; like check,
// it returns what is wrong so the kit's own tests can expect an error.
type identityCheck struct {
	name string
	run  func(t testing.TB, k *identityKit) error
}

// identityChecks returns the checks in the order RunIdentity runs them.
func identityChecks() []identityCheck {
	return []identityCheck{
		{name: "handshake and Info describe an identity plugin", run: checkIdentityInfo},
		{name: "a known user resolves to Want", run: checkKnown},
		{name: "an unknown user is not found and is no error", run: checkUnknown},
		{name: "an empty configuration is refused permanently", run: checkIdentityBadConfigRefused},
		{name: "launched as a delivery plugin it fails with ErrWrongKind", run: checkWrongKind},
		{name: "concurrent lookups all resolve to Want", run: checkConcurrentLookups},
	}
}

// checkIdentityInfo launches the plugin (handshake, protocol version,
// Configure with the target's Config) and checks what it says about itself.
func checkIdentityInfo(t testing.TB, k *identityKit) error {
	ctx, cancel := k.context(t)
	defer cancel()
	info, err := k.host.Info(ctx, k.target.Name)
	if err != nil {
		return fmt.Errorf("launch and describe the plugin: %w", err)
	}
	var errs []error
	if info.Kind != sdk.KindIdentity {
		errs = append(errs, fmt.Errorf("the plugin serves kind %q, want %q", info.Kind, sdk.KindIdentity))
	}
	if info.Name == "" {
		errs = append(errs, errors.New("the plugin reports no name in Info"))
	}
	if info.Version == "" {
		errs = append(errs, errors.New("the plugin reports no version in Info"))
	}
	if !slices.Contains(info.Capabilities, sdk.CapabilityLookup) {
		errs = append(errs, fmt.Errorf("the plugin reports capabilities %q in Info, which lack %q", info.Capabilities, sdk.CapabilityLookup))
	}
	return errors.Join(errs...)
}

func checkKnown(t testing.TB, k *identityKit) error {
	got, err := k.lookup(t, nil, k.target.Known)
	if err != nil {
		return fmt.Errorf("look up Known %+v: %w", k.target.Known, err)
	}
	if err := diffIdentity(got, k.target.Want); err != nil {
		return fmt.Errorf("look up Known %+v: %w", k.target.Known, err)
	}
	return nil
}

// checkUnknown requires the zero Identity and a nil error: an error would
// make the host retry, or fail a sign-in, for a user who simply is not
// there.
func checkUnknown(t testing.TB, k *identityKit) error {
	got, err := k.lookup(t, nil, k.target.Unknown)
	if err != nil {
		return fmt.Errorf("look up Unknown %+v: want Found false and a nil error, got error: %w", k.target.Unknown, err)
	}
	if err := diffIdentity(got, sdk.Identity{}); err != nil {
		return fmt.Errorf("look up Unknown %+v: want the zero Identity: %w", k.target.Unknown, err)
	}
	return nil
}

// checkIdentityBadConfigRefused launches a second plugin process with an
// empty configuration. The host configures on launch, so Configure's error
// is what the Lookup returns; it must be permanent, or every sign-in would
// be retried until an operator noticed.
func checkIdentityBadConfigRefused(t testing.TB, k *identityKit) error {
	h, err := k.secondHost("empty config", sdk.KindIdentity, map[string]string{})
	if err != nil {
		return err
	}
	defer h.Close()
	got, err := k.lookup(t, h, k.target.Known)
	switch {
	case err == nil:
		return fmt.Errorf("look up Known with an empty configuration succeeded (%+v); Configure must refuse it with sdk.Permanent", got)
	case !errors.Is(err, sdk.ErrPermanent):
		return fmt.Errorf("look up Known with an empty configuration: error is not permanent (Configure must refuse with sdk.Permanent): %w", err)
	}
	return nil
}

// checkWrongKind launches the plugin as a delivery plugin, as an operator
// who forgot "kind": "identity" would: the process must not answer the
// delivery protocol, so the launch fails with sdk.ErrWrongKind, permanently.
// Info, not Send: launching configures, which is where the kind shows, and
// nothing is sent anywhere if the plugin wrongly serves delivery.
func checkWrongKind(t testing.TB, k *identityKit) error {
	h, err := k.secondHost("as delivery", sdk.KindDelivery, k.target.Config)
	if err != nil {
		return err
	}
	defer h.Close()
	ctx, cancel := k.context(t)
	defer cancel()
	info, err := h.Info(ctx, k.target.Name)
	switch {
	case err == nil:
		return fmt.Errorf("launched as a delivery plugin, it answered the delivery protocol (Info %+v); want sdk.ErrWrongKind", info)
	case !errors.Is(err, sdk.ErrWrongKind):
		return fmt.Errorf("launched as a delivery plugin: error is not sdk.ErrWrongKind: %w", err)
	case !errors.Is(err, sdk.ErrPermanent):
		return fmt.Errorf("launched as a delivery plugin: sdk.ErrWrongKind is not permanent: %w", err)
	}
	return nil
}

// identityConcurrency is how many lookups checkConcurrentLookups makes at
// once; the host looks users up concurrently whenever several sign in.
const identityConcurrency = 20

func checkConcurrentLookups(t testing.TB, k *identityKit) error {
	got := make([]sdk.Identity, identityConcurrency)
	lookupErrs := make([]error, identityConcurrency)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			// No t.Fatal here: this is not the test's goroutine.
			got[i], lookupErrs[i] = k.lookup(t, nil, k.target.Known)
		})
	}
	wg.Wait()

	// Failures are grouped by message: twenty copies of one mismatch say
	// no more than one, and a mismatch in only some lookups stands out.
	var (
		msgs  []string
		first = map[string]error{}
		count = map[string]int{}
	)
	for i := range got {
		err := lookupErrs[i]
		if err == nil {
			err = diffIdentity(got[i], k.target.Want)
		}
		if err == nil {
			continue
		}
		msg := err.Error()
		if count[msg] == 0 {
			msgs, first[msg] = append(msgs, msg), err
		}
		count[msg]++
	}
	var errs []error
	for _, msg := range msgs {
		errs = append(errs, fmt.Errorf("%d of %d concurrent lookups of Known: %w", count[msg], identityConcurrency, first[msg]))
	}
	return errors.Join(errs...)
}

// diffIdentity names every field in which got differs from want, on one
// line; a nil and an empty slice or map are equal.
func diffIdentity(got, want sdk.Identity) error {
	var diffs []string
	field := func(name string, equal bool, g, w any) {
		if !equal {
			diffs = append(diffs, fmt.Sprintf("%s = %#v, want %#v", name, g, w))
		}
	}
	field("Found", got.Found == want.Found, got.Found, want.Found)
	field("Name", got.Name == want.Name, got.Name, want.Name)
	field("Email", got.Email == want.Email, got.Email, want.Email)
	field("Phone", got.Phone == want.Phone, got.Phone, want.Phone)
	field("Groups", slices.Equal(got.Groups, want.Groups), got.Groups, want.Groups)
	field("Attributes", maps.Equal(got.Attributes, want.Attributes), got.Attributes, want.Attributes)
	if len(diffs) == 0 {
		return nil
	}
	return errors.New(strings.Join(diffs, "; "))
}
