package sms

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/plugintest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// pluginBin is the flexauth-sms executable built by TestMain. It is set
// once before any test runs and never written again.
var pluginBin string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, map[*string]string{&pluginBin: "github.com/flexauth/flexauth/plugins/delivery/sms/cmd/flexauth-sms"}))
}

// lockedBuffer collects the host's logs, written from go-plugin's
// goroutines while the test reads them.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newPluginHost runs the built plugin under a real Host with config,
// logging to logs if given.
func newPluginHost(t *testing.T, config map[string]string, logs io.Writer) *host.Host {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	h, err := host.New(slog.New(slog.NewTextHandler(logs, nil)),
		host.Spec{Name: Name, Command: []string{pluginBin}, Config: config})
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func TestThroughThePluginProcess(t *testing.T) {
	f := newFakeTwilio(t)
	var logs lockedBuffer
	h := newPluginHost(t, f.config(), &logs)

	info, err := h.Info(t.Context(), Name)
	if err != nil || info.Name != Name || len(info.Channels) != 1 || info.Channels[0] != "sms" {
		t.Fatalf("info = %+v, %v", info, err)
	}

	req := pinRequest("att-1", recipient)
	resp, err := h.Send(t.Context(), Name, req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	got := f.accepted()
	if len(got) != 1 || got[0].Body != testCode+" is your VPN sign-in code. It expires in 10 minutes." || got[0].To != recipient {
		t.Fatalf("accepted = %+v", got)
	}
	if resp.MessageID != got[0].SID {
		t.Errorf("message id = %q, want %q", resp.MessageID, got[0].SID)
	}

	// The host's retry of the same attempt reaches the same process.
	if again, err := h.Send(t.Context(), Name, req); err != nil || again.MessageID != resp.MessageID {
		t.Errorf("resend = %+v, %v; want %q", again, err, resp.MessageID)
	}
	if n := f.requestCount(); n != 1 {
		t.Errorf("provider saw %d requests, want 1", n)
	}

	// Permanent and temporary survive the process boundary.
	if _, err := h.Send(t.Context(), Name, pinRequest("att-2", numberInvalid)); !errors.Is(err, sdk.ErrPermanent) {
		t.Errorf("invalid number: error = %v, want permanent", err)
	}
	f.fail(http.StatusServiceUnavailable, "", nil)
	if _, err := h.Send(t.Context(), Name, pinRequest("att-3", recipient)); err == nil || errors.Is(err, sdk.ErrPermanent) {
		t.Errorf("unavailable provider: error = %v, want temporary", err)
	}

	// The plugin's log records reach the host, with the sid and the
	// masked number and nothing secret. They arrive asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), resp.MessageID) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	for _, want := range []string{"sms sent", resp.MessageID, "+1555***0100"} {
		if !strings.Contains(out, want) {
			t.Errorf("host logs do not mention %q:\n%s", want, out)
		}
	}
	if leaked := hasSecret(out, testCode, recipient); leaked != "" {
		t.Errorf("host logs leak %q:\n%s", leaked, out)
	}
}

func TestBadConfigurationIsPermanentThroughThePluginProcess(t *testing.T) {
	f := newFakeTwilio(t)
	config := f.config()
	delete(config, "auth_token")
	h := newPluginHost(t, config, nil)
	_, err := h.Send(t.Context(), Name, pinRequest("att-1", recipient))
	if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "auth_token") {
		t.Fatalf("error = %v, want permanent, naming auth_token", err)
	}
	if n := f.requestCount(); n != 0 {
		t.Fatalf("provider saw %d requests, want 0", n)
	}
}

// The process remembers what it sent (sdk.ServeDelivery does): the host's
// retries of a delivered message get its SID back without a second text.
func TestRetryOfADeliveredMessageIsNotSentAgain(t *testing.T) {
	f := newFakeTwilio(t)
	h := newPluginHost(t, f.config(), nil)
	req := pinRequest("att-1", recipient)
	first, err := h.Send(t.Context(), Name, req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	for range 2 {
		again, err := h.Send(t.Context(), Name, req)
		if err != nil {
			t.Fatalf("resend: %v", err)
		}
		if again.MessageID != first.MessageID {
			t.Errorf("resend message id = %q, want the first %q", again.MessageID, first.MessageID)
		}
	}
	if _, err := h.Send(t.Context(), Name, pinRequest("att-2", recipient)); err != nil {
		t.Fatalf("send another id: %v", err)
	}
	if n := f.requestCount(); n != 2 {
		t.Fatalf("provider saw %d requests for two ids sent four times, want 2", n)
	}
}

func TestConcurrentRetriesSendOnce(t *testing.T) {
	f := newFakeTwilio(t)
	h := newPluginHost(t, f.config(), nil)
	// Launch first, so that the copies overlap at the provider rather
	// than queue behind the plugin's start.
	if _, err := h.Info(t.Context(), Name); err != nil {
		t.Fatalf("launch: %v", err)
	}
	// Slow enough that the copies overlap the first request.
	f.slow(50 * time.Millisecond)
	const copies = 8
	ids := make(chan string, copies)
	var wg sync.WaitGroup
	for range copies {
		wg.Go(func() {
			resp, err := h.Send(t.Context(), Name, pinRequest("att-1", recipient))
			if err != nil {
				t.Errorf("send: %v", err)
			}
			ids <- resp.MessageID
		})
	}
	wg.Wait()
	close(ids)
	if n := f.requestCount(); n != 1 {
		t.Fatalf("provider saw %d requests, want 1", n)
	}
	for id := range ids {
		if id != f.accepted()[0].SID {
			t.Errorf("message id = %q, want %q", id, f.accepted()[0].SID)
		}
	}
}
