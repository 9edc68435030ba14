package host

import (
	"testing"
	"time"
)

// pid returns the process id of the named plugin's current process, or 0.
func (h *Host) pid(t *testing.T, name string) int {
	t.Helper()
	p := h.plugins[name]
	p.lock <- struct{}{}
	defer func() { <-p.lock }()
	if p.client == nil {
		return 0
	}
	rc := p.client.ReattachConfig()
	if rc == nil {
		return 0
	}
	return rc.Pid
}

// waitExited waits until the host has noticed that the named plugin's
// process is gone, as it would have by the time a later activity runs.
func (h *Host) waitExited(t *testing.T, name string) {
	t.Helper()
	p := h.plugins[name]
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.lock <- struct{}{}
		exited := p.client == nil || p.client.Exited()
		<-p.lock
		if exited {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin %q still running 10s after it was killed", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
