package host

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// A pinned plugin runs the bytes that were checked, from a sealed memory
// copy, not its path read again: a binary renamed over the path after the
// check is never run. A file changed on disk is refused at the next launch.
func TestPinnedPluginRunsTheCheckedBytes(t *testing.T) {
	bin, err := os.ReadFile(outboxBin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	path := filepath.Join(t.TempDir(), "outbox-plugin")
	if err := os.WriteFile(path, bin, 0o700); err != nil {
		t.Fatal(err)
	}
	h, _ := newOutboxHost(t, func(s *Spec) { s.Command, s.Checksum = []string{path}, sum[:] })
	if _, err := h.Send(t.Context(), "outbox", email("att-1")); err != nil {
		t.Fatalf("send: %v", err)
	}
	pid := h.pid(t, "outbox")
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(exe, "/memfd:flexauth-plugin-outbox") {
		t.Fatalf("the plugin runs %s, want the sealed memory copy", exe)
	}

	// Another binary in its place: the next launch refuses it.
	swapped := filepath.Join(filepath.Dir(path), "swapped")
	if err := os.WriteFile(swapped, append(bin, 0), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(swapped, path); err != nil {
		t.Fatal(err)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	h.waitExited(t, "outbox")
	_, err = h.Send(t.Context(), "outbox", email("att-2"))
	if !errors.Is(err, ErrChecksumMismatch) || !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("send after the swap = %v, want a permanent checksum mismatch", err)
	}
}
