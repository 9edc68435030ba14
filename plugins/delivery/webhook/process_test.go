package webhook

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/host"
)

// newPluginHost runs the built flexauth-webhook executable, posting to rc,
// under the real plugin host, as the flexauth worker does. Remembering
// delivered IDs is sdk.ServeDelivery's job, so the process is where the
// tests below prove it.
func newPluginHost(t *testing.T, rc *receiver) *host.Host {
	t.Helper()
	h, err := host.New(slog.New(slog.DiscardHandler), host.Spec{
		Name:    Name,
		Command: []string{webhookBin},
		Config:  map[string]string{"url": rc.URL + "/hook", "secret": testSecret},
	})
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func TestRetryIsNotPostedAgain(t *testing.T) {
	rc := newReceiver(t)
	h := newPluginHost(t, rc)
	for range 3 {
		if _, err := h.Send(t.Context(), Name, pinMessage("att-1")); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	if n := rc.postCount(); n != 1 {
		t.Fatalf("receiver got %d calls for one id, want 1", n)
	}
}

// A retry racing the original must not post a second time.
func TestConcurrentSendsOfOneIDPostOnce(t *testing.T) {
	rc := newReceiver(t)
	h := newPluginHost(t, rc)
	// Launch first, so that the sends overlap at the receiver rather than
	// queue behind the plugin's start.
	if _, err := h.Info(t.Context(), Name); err != nil {
		t.Fatalf("launch: %v", err)
	}
	rc.setDelay(50 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			if _, err := h.Send(t.Context(), Name, pinMessage("att-1")); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	if n := rc.postCount(); n != 1 {
		t.Fatalf("receiver got %d calls, want 1", n)
	}
}
