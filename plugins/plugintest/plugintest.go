package plugintest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// Target describes the plugin under test and the test's view of its destination.
type Target struct {
	Name    string            // plugin name used with the host, e.g. "webhook"
	Command []string          // argv of the plugin executable
	Config  map[string]string // passed to Configure; must make Valid deliverable
	Valid   sdk.SendRequest   // a request the plugin must deliver (the kit sets a fresh ID per send)
	Invalid sdk.SendRequest   // a request the plugin must refuse permanently (e.g. a malformed recipient)
	// Delivered reports how many times the message with this ID reached the destination (observed by the test's own sink).
	Delivered func(t testing.TB, id string) int
	// Unavailable, if set, makes the destination fail temporarily (on=true: e.g. 503 / connection refused) or recover (false).
	Unavailable func(t testing.TB, on bool)
	// Slow, if set, makes the destination hang (on=true) or answer normally again (false).
	Slow func(t testing.TB, on bool)
	// Stamp, if set, marks each send's request with its ID where the
	// destination shows it (in the text, say, for a provider whose API
	// takes no request ID), so that Delivered can tell sends apart.
	Stamp func(req *sdk.SendRequest, id string)
}

func (tg Target) validate() error {
	var errs []error
	if tg.Name == "" {
		errs = append(errs, errors.New("target has no Name"))
	}
	if len(tg.Command) == 0 || tg.Command[0] == "" {
		errs = append(errs, errors.New("target has no Command"))
	}
	if tg.Delivered == nil {
		errs = append(errs, errors.New("target has no Delivered: the kit cannot see the destination"))
	}
	return errors.Join(errs...)
}

// Run checks the plugin through the real host (plugins/host), so the
// handshake, protocol version and process boundary are exactly flexauth's.
// Each check is a subtest named after the behaviour it requires; checks
// that need Unavailable or Slow are skipped when those are nil.
//
// The checks run one after another against one plugin process, because
// Unavailable and Slow change the destination for every send. When a check
// fails, the host's and the plugin's logs are printed after the last one.
func Run(t *testing.T, target Target) {
	t.Helper()
	k, err := newKit(t, target)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	for _, c := range checks() {
		t.Run(c.name, func(t *testing.T) {
			if c.needs != nil {
				if reason := c.needs(target); reason != "" {
					t.Skip(reason)
				}
			}
			if err := c.run(t, k); err != nil {
				t.Error(err)
			}
		})
	}
}

// defaultTimeout bounds each call the kit makes, including the first one,
// which launches the plugin. A conforming plugin answers in well under a
// second; the margin is for loaded CI machines.
const defaultTimeout = 30 * time.Second

// kit is the state the checks share: one host running the plugin.
type kit struct {
	target Target
	host   *host.Host
	logger *slog.Logger
	// timeout bounds each call; the kit's own tests shorten it to make a
	// plugin that stopped serving fail fast.
	timeout time.Duration
}

// newKit validates target and starts a host for it; t's cleanup closes the
// host and, if t failed, prints the logs.
func newKit(t testing.TB, target Target) (*kit, error) {
	t.Helper()
	if err := target.validate(); err != nil {
		return nil, err
	}
	target.Command = slices.Clone(target.Command)
	target.Config = maps.Clone(target.Config)
	h, logger, err := startHost(t, host.Spec{Name: target.Name, Command: target.Command, Config: target.Config})
	if err != nil {
		return nil, err
	}
	return &kit{target: target, host: h, logger: logger, timeout: defaultTimeout}, nil
}

// startHost starts a host running spec with a logger whose lines are
// printed if t fails; t's cleanup closes the host.
func startHost(t testing.TB, spec host.Spec) (*host.Host, *slog.Logger, error) {
	logs := &logBuffer{}
	// The buffer, not t.Log: go-plugin logs from its own goroutines, which
	// may still run after a test ends, when t.Log would panic.
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Registered before the host's Close, so it runs after it and sees
	// every line the plugin wrote.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host and plugin logs:\n%s", logs)
		}
	})
	h, err := host.New(logger, spec)
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(h.Close)
	return h, logger, nil
}

// context returns a context for one call, ended by the kit's timeout or
// the test's end.
func (k *kit) context(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), k.timeout)
}

// send sends req under id through h (the kit's host when nil), bounded by
// the kit's timeout.
func (k *kit) send(t testing.TB, h *host.Host, req sdk.SendRequest, id string) error {
	_, err := k.sendResp(t, h, req, id)
	return err
}

// sendResp is send for the checks that look at the response.
func (k *kit) sendResp(t testing.TB, h *host.Host, req sdk.SendRequest, id string) (sdk.SendResponse, error) {
	ctx, cancel := k.context(t)
	defer cancel()
	return k.sendCtxResp(ctx, h, req, id)
}

func (k *kit) sendCtx(ctx context.Context, h *host.Host, req sdk.SendRequest, id string) error {
	_, err := k.sendCtxResp(ctx, h, req, id)
	return err
}

func (k *kit) sendCtxResp(ctx context.Context, h *host.Host, req sdk.SendRequest, id string) (sdk.SendResponse, error) {
	if h == nil {
		h = k.host
	}
	req.ID = id
	if req.Attempt == "" {
		req.Attempt = id
	}
	// The host only reads the request, but concurrent sends each get their
	// own map so a plugin under test cannot be blamed for a shared one.
	req.Metadata = maps.Clone(req.Metadata)
	if k.target.Stamp != nil {
		k.target.Stamp(&req, id)
	}
	return h.Send(ctx, k.target.Name, req)
}

// newID returns an ID never used before, so no check is fooled by a
// message an earlier check (or an earlier run against the same sink)
// delivered.
func newID() string {
	return "plugintest-" + rand.Text()
}

// delivered asks the test's sink how often id arrived and turns any count
// but want into an error.
func (k *kit) delivered(t testing.TB, id string, want int, what string) error {
	if n := k.target.Delivered(t, id); n != want {
		return fmt.Errorf("%s: delivered %d times, want %d", what, n, want)
	}
	return nil
}

// logBuffer collects log lines from any goroutine. It keeps the first
// maxLogBytes: a plugin stuck in a loop must not exhaust the test's memory.
type logBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	truncated bool
}

const maxLogBytes = 1 << 20

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) > maxLogBytes {
		b.truncated = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.truncated {
		return b.buf.String() + "... (truncated)\n"
	}
	return b.buf.String()
}
