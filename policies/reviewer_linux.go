//go:build linux

package policies

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// limitChild sets the review child's limits with prlimit(2), from the API
// process, on the child's pid, after the child started and before the
// upload is written to its stdin.
//
// Why from here rather than by setrlimit inside the child: the limits then
// hold whatever the child runs, whichever binary it is (flexauth, or a test
// binary in tests) and however its start goes, and the API knows they are
// in place before the child can read a byte of the policy; nothing in the
// child has to cooperate, and the policy, which arrives only afterwards,
// cannot run in an unlimited process. The pid is safe to use: the child
// has not been waited for, so it cannot have been recycled. A Rego policy
// has no built-in that could raise a limit again.
//
// RLIMIT_DATA rather than RLIMIT_AS: since Linux 4.7 RLIMIT_DATA counts
// every private writable mapping, which is where the Go heap lives, while
// RLIMIT_AS also counts the address space the Go runtime reserves without
// using it, which would make the limit mean little. RLIMIT_CPU at its hard
// value makes the kernel kill the child with SIGKILL (the Go runtime
// ignores the SIGXCPU of a soft limit). No core dump is written of a
// process holding a policy and its half-built values.
func limitChild(pid int, cfg ReviewerConfig) error {
	limits := []struct {
		resource int
		value    uint64
		name     string
	}{
		{unix.RLIMIT_DATA, uint64(cfg.Memory), "memory (RLIMIT_DATA)"},
		{unix.RLIMIT_CPU, uint64(cpuSeconds(cfg.CPU) / time.Second), "CPU time (RLIMIT_CPU)"},
		{unix.RLIMIT_CORE, 0, "core size (RLIMIT_CORE)"},
	}
	for _, l := range limits {
		rl := unix.Rlimit{Cur: l.value, Max: l.value}
		if err := unix.Prlimit(pid, l.resource, &rl, nil); err != nil {
			return fmt.Errorf("set %s of process %d: %w", l.name, pid, err)
		}
	}
	return nil
}

// usageOf is what the child used: its peak resident memory and CPU time.
func usageOf(state *os.ProcessState) ReviewUsage {
	if state == nil {
		return ReviewUsage{}
	}
	u := ReviewUsage{CPU: state.UserTime() + state.SystemTime()}
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
		u.PeakMemory = ru.Maxrss << 10 // KiB on Linux
	}
	return u
}

// killedForCPU reports whether the kernel killed the child at its CPU
// limit: killed by SIGKILL (or SIGXCPU) that the API did not send (a
// wall-clock kill is told apart before), having used about the limit.
func killedForCPU(state *os.ProcessState, usage ReviewUsage, limit time.Duration) bool {
	if state == nil {
		return false
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || (ws.Signal() != syscall.SIGKILL && ws.Signal() != syscall.SIGXCPU) {
		return false
	}
	// The kernel samples CPU time at ticks, and what the child's rusage
	// reports can come out a little under the limit it was killed at.
	return usage.CPU >= cpuSeconds(limit)*8/10
}
