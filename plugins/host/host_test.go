package host

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/syncbuf"
	"github.com/flexauth/flexauth/plugins/sdk"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newOutboxHost starts a Host with the built flexauth-outbox plugin writing
// to a fresh file.
func newOutboxHost(t *testing.T, mutate ...func(*Spec)) (*Host, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	spec := Spec{Name: "outbox", Command: []string{outboxBin}, Config: map[string]string{"path": path}}
	for _, m := range mutate {
		m(&spec)
	}
	h, err := New(discardLogger(), spec)
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(h.Close)
	return h, path
}

func newTestPluginHost(t *testing.T, logger *slog.Logger) *Host {
	t.Helper()
	h, err := New(logger, testPluginSpec(t))
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func email(id string) sdk.SendRequest {
	return sdk.SendRequest{ID: id, Attempt: id, Channel: "email", To: "ada@example.com", Subject: "Sign in", Text: "Your code", Code: "123456"}
}

func outboxIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open outbox: %v", err)
	}
	defer f.Close()
	var ids []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		var l struct{ ID string }
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			t.Fatalf("bad outbox line %q: %v", s.Text(), err)
		}
		ids = append(ids, l.ID)
	}
	return ids
}

func TestSendThroughExternalPluginWritesTheOutbox(t *testing.T) {
	h, path := newOutboxHost(t)

	resp, err := h.Send(t.Context(), "outbox", email("att-1"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if resp.MessageID != "att-1" {
		t.Errorf("message id = %q, want att-1", resp.MessageID)
	}
	if got := outboxIDs(t, path); len(got) != 1 || got[0] != "att-1" {
		t.Fatalf("outbox ids = %v, want [att-1]", got)
	}

	info, err := h.Info(t.Context(), "outbox")
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.Name != "outbox" || strings.Join(info.Channels, ",") != "email,sms" {
		t.Errorf("info = %+v", info)
	}
}

func TestKilledPluginIsRelaunchedAndReconfigured(t *testing.T) {
	h, path := newOutboxHost(t)
	if _, err := h.Send(t.Context(), "outbox", email("att-1")); err != nil {
		t.Fatalf("send: %v", err)
	}
	first := h.pid(t, "outbox")
	if first == 0 {
		t.Fatal("no plugin process after a send")
	}

	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin: %v", err)
	}
	h.waitExited(t, "outbox")

	// The outbox refuses to send until configured, so success here also
	// proves Configure ran again on the new process.
	if _, err := h.Send(t.Context(), "outbox", email("att-2")); err != nil {
		t.Fatalf("send after kill: %v", err)
	}
	if second := h.pid(t, "outbox"); second == first || second == 0 {
		t.Fatalf("pid after relaunch = %d, want a new process (was %d)", second, first)
	}
	if got := outboxIDs(t, path); strings.Join(got, ",") != "att-1,att-2" {
		t.Fatalf("outbox ids = %v, want [att-1 att-2]", got)
	}
}

func TestPluginDyingMidCallIsTemporaryAndRecovers(t *testing.T) {
	h := newTestPluginHost(t, discardLogger())

	_, err := h.Send(t.Context(), "test", sdk.SendRequest{ID: "a", Channel: "crash"})
	if !errors.Is(err, sdk.ErrPluginExited) {
		t.Fatalf("error = %v, want ErrPluginExited", err)
	}
	if errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("a crash must be retryable, got permanent: %v", err)
	}

	// The retry, as Temporal would make it, finds a fresh process.
	if _, err := h.Send(t.Context(), "test", sdk.SendRequest{ID: "a", Channel: "ok"}); err != nil {
		t.Fatalf("send after crash: %v", err)
	}
}

func TestChecksum(t *testing.T) {
	bin, err := os.ReadFile(outboxBin)
	if err != nil {
		t.Fatal(err)
	}
	good := sha256.Sum256(bin)
	bad := sha256.Sum256([]byte("some other binary"))

	t.Run("matching checksum launches", func(t *testing.T) {
		h, _ := newOutboxHost(t, func(s *Spec) { s.Checksum = good[:] })
		if _, err := h.Send(t.Context(), "outbox", email("att-1")); err != nil {
			t.Fatalf("send: %v", err)
		}
	})
	t.Run("wrong checksum refuses to launch", func(t *testing.T) {
		h, path := newOutboxHost(t, func(s *Spec) { s.Checksum = bad[:] })
		_, err := h.Send(t.Context(), "outbox", email("att-1"))
		if !errors.Is(err, ErrChecksumMismatch) || !errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("error = %v, want a permanent checksum mismatch", err)
		}
		if !strings.Contains(err.Error(), "checksum") || !strings.Contains(err.Error(), outboxBin) {
			t.Errorf("error %q should name the checksum and the executable", err)
		}
		if pid := h.pid(t, "outbox"); pid != 0 {
			t.Errorf("a process (pid %d) is running despite the mismatch", pid)
		}
		if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
			t.Errorf("the outbox file exists: the plugin ran")
		}
	})
}

func TestErrorClassification(t *testing.T) {
	h, _ := newOutboxHost(t)
	th := newTestPluginHost(t, discardLogger())

	t.Run("permanent error from the plugin is permanent on the host", func(t *testing.T) {
		req := email("att-1")
		req.To = ""
		_, err := h.Send(t.Context(), "outbox", req)
		if !errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("error = %v, want permanent", err)
		}
		if !strings.Contains(err.Error(), "missing recipient") {
			t.Errorf("error %q lost the plugin's message", err)
		}
	})
	t.Run("temporary error from the plugin is temporary and prompt", func(t *testing.T) {
		start := time.Now()
		_, err := th.Send(t.Context(), "test", sdk.SendRequest{ID: "a", Channel: "temporary"})
		if err == nil || errors.Is(err, sdk.ErrPermanent) || errors.Is(err, sdk.ErrPluginExited) {
			t.Fatalf("error = %v, want a plain temporary error", err)
		}
		if !strings.Contains(err.Error(), "provider unavailable") {
			t.Errorf("error %q lost the plugin's message", err)
		}
		// A plugin's own error must not wait to see whether the process died.
		if d := time.Since(start); d > time.Second {
			t.Errorf("temporary error took %v", d)
		}
	})
	t.Run("plugin's own permanent error", func(t *testing.T) {
		_, err := th.Send(t.Context(), "test", sdk.SendRequest{ID: "a", Channel: "permanent"})
		if !errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("error = %v, want permanent", err)
		}
	})
	t.Run("unknown plugin is permanent", func(t *testing.T) {
		_, err := h.Send(t.Context(), "carrier-pigeon", email("att-1"))
		if !errors.Is(err, sdk.ErrPermanent) || !errors.Is(err, ErrUnknownPlugin) {
			t.Fatalf("error = %v, want permanent unknown plugin", err)
		}
	})
	t.Run("rejected configuration is permanent", func(t *testing.T) {
		bad, _ := newOutboxHost(t, func(s *Spec) { s.Config = nil })
		_, err := bad.Send(t.Context(), "outbox", email("att-1"))
		if !errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("error = %v, want permanent", err)
		}
	})
}

func TestPluginDoesNotInheritHostEnvironment(t *testing.T) {
	t.Setenv("FLEXAUTH_DATABASE_URL", "postgres://flexauth:secret@db/flexauth")
	h := newTestPluginHost(t, discardLogger())

	resp, err := h.Send(t.Context(), "test", sdk.SendRequest{ID: "a", Channel: "env"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	env := strings.Split(resp.MessageID, "\n")
	for _, kv := range env {
		if strings.HasPrefix(kv, "FLEXAUTH_DATABASE_URL=") || strings.Contains(kv, "secret") {
			t.Errorf("plugin sees %q", kv)
		}
	}
	var hasPath bool
	for _, kv := range env {
		hasPath = hasPath || strings.HasPrefix(kv, "PATH=")
	}
	if !hasPath {
		t.Errorf("plugin environment %q lacks PATH", env)
	}
}

func TestContextDeadlineBoundsTheCall(t *testing.T) {
	h := newTestPluginHost(t, discardLogger())
	// Launch first so the deadline measures the call, not the start.
	if _, err := h.Send(t.Context(), "test", sdk.SendRequest{ID: "a", Channel: "ok"}); err != nil {
		t.Fatalf("send: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Send(ctx, "test", sdk.SendRequest{ID: "b", Channel: "block"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("a timeout must be retryable")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("call returned after %v, deadline was 200ms", d)
	}
	// The plugin survived the cancelled call.
	if _, err := h.Send(t.Context(), "test", sdk.SendRequest{ID: "c", Channel: "ok"}); err != nil {
		t.Fatalf("send after timeout: %v", err)
	}
}

// syncBuffer collects output written from other goroutines.
type syncBuffer = syncbuf.Buffer

func TestPluginLogsReachHostLogger(t *testing.T) {
	var out syncBuffer
	h := newTestPluginHost(t, slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))

	if _, err := h.Send(t.Context(), "test", sdk.SendRequest{ID: "a", Attempt: "att-42", Channel: "log"}); err != nil {
		t.Fatalf("send: %v", err)
	}
	// Plugin stderr is read asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.SplitSeq(out.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			// go-plugin's own records must not overwrite the name.
			if rec["plugin"] != "test" {
				t.Fatalf("host log record %s does not name the plugin", line)
			}
			if rec["msg"] != "test plugin log" {
				continue
			}
			if rec["plugin"] != "test" || rec["attempt"] != "att-42" || rec["level"] != "INFO" {
				t.Fatalf("plugin log record = %v, want plugin=test attempt=att-42 level=INFO", rec)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin log line never reached the host logger; host log:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConcurrentSendsShareOneProcess(t *testing.T) {
	h, path := newOutboxHost(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := h.Send(t.Context(), "outbox", email(fmt.Sprintf("att-%d", i))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	if got := outboxIDs(t, path); len(got) != n {
		t.Fatalf("got %d lines, want %d", len(got), n)
	}
}

func TestCloseKillsPlugins(t *testing.T) {
	h, _ := newOutboxHost(t)
	if _, err := h.Send(t.Context(), "outbox", email("att-1")); err != nil {
		t.Fatalf("send: %v", err)
	}
	pid := h.pid(t, "outbox")

	h.Close()
	// Close waits for the process to be reaped, so it is gone now.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("plugin process %d still exists after Close (kill 0: %v)", pid, err)
	}
	_, err := h.Send(t.Context(), "outbox", email("att-2"))
	if !errors.Is(err, ErrClosed) || errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("send after close: error = %v, want temporary ErrClosed", err)
	}
}

func TestNewRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		name  string
		specs []Spec
	}{
		{"empty name", []Spec{{Command: []string{"/bin/true"}}}},
		{"empty command", []Spec{{Name: "a"}}},
		{"duplicate name", []Spec{{Name: "a", Command: []string{"/bin/true"}}, {Name: "a", Command: []string{"/bin/true"}}}},
		{"checksum not sha-256", []Spec{{Name: "a", Command: []string{"/bin/true"}, Checksum: []byte{1, 2, 3}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(discardLogger(), tt.specs...); err == nil {
				t.Fatal("New accepted the specs")
			}
		})
	}
}

func TestReadyLaunchesEveryPlugin(t *testing.T) {
	t.Run("a plugin that launches is ready", func(t *testing.T) {
		h, _ := newOutboxHost(t)
		if err := h.Ready(t.Context()); err != nil {
			t.Fatalf("ready: %v", err)
		}
		if h.pid(t, "outbox") == 0 {
			t.Fatal("no plugin process after ready")
		}
	})
	t.Run("a plugin that cannot launch is named", func(t *testing.T) {
		bad := sha256.Sum256([]byte("some other binary"))
		h, _ := newOutboxHost(t, func(s *Spec) { s.Checksum = bad[:] })
		if err := h.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), `"outbox"`) {
			t.Fatalf("ready = %v, want the outbox named", err)
		}
	})
}
