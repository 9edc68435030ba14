// Package topology runs flexauth's production topology on one host, as
// processes: a Temporal server persisted to PostgreSQL (the server version
// flexauth embeds, as temporalio/auto-setup runs it) and flexauth's own
// processes, each of which can be killed, stopped and started again. The
// deploy tests run docker-compose.yml with it where no container engine
// runs; a benchmark can start the same topology.
//
// It owns processes only: the PostgreSQL databases are the caller's.
package topology

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one OS process of the topology, started again as often as
// needed with the same command line and environment. Its output is
// appended to LogPath. It runs in a process group of its own, so that a
// kill reaches the plugins it launched too.
type Process struct {
	Name    string
	Path    string
	Args    []string
	Env     []string
	LogPath string

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	err   error
	stdin io.WriteCloser
}

// Start starts the process; it must not be running.
func (p *Process) Start() error {
	_, err := p.start(false, false)
	return err
}

// start starts the process, with a pipe on its stdin when keepStdin (a child
// that exits when its parent goes away watches it) and its stdout returned
// when pipeStdout (else it goes to the log).
func (p *Process) start(keepStdin, pipeStdout bool) (io.ReadCloser, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		select {
		case <-p.done:
		default:
			return nil, fmt.Errorf("start %s: already running", p.Name)
		}
	}
	log, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", p.Name, err)
	}
	fmt.Fprintf(log, "==== %s start %s\n", p.Name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout io.ReadCloser
	if pipeStdout {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			_ = log.Close()
			return nil, fmt.Errorf("start %s: %w", p.Name, err)
		}
	} else {
		cmd.Stdout = log
	}
	var stdin io.WriteCloser
	if keepStdin {
		if stdin, err = cmd.StdinPipe(); err != nil {
			_ = log.Close()
			return nil, fmt.Errorf("start %s: %w", p.Name, err)
		}
	}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.err, p.stdin = cmd, done, nil, stdin
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(log, "==== %s exited %s: %v\n", p.Name, time.Now().Format(time.RFC3339Nano), err)
		_ = log.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return stdout, nil
}

// Done is closed when the current run of the process has exited.
func (p *Process) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.done
}

// Running reports whether the process is running.
func (p *Process) Running() bool {
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

// ExitError is how the last run ended (nil for exit status 0).
func (p *Process) ExitError() error {
	<-p.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Signal sends sig to the process's group.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || !p.Running() {
		return fmt.Errorf("signal %s: not running", p.Name)
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %s: %w", p.Name, err)
	}
	return nil
}

// Kill sends SIGKILL to the process's group (kill -9) and waits for the
// process to be gone. Killing a process that is not running does nothing.
func (p *Process) Kill() error {
	if !p.Running() {
		return nil
	}
	p.mu.Lock()
	if p.stdin != nil {
		_ = p.stdin.Close()
	}
	p.mu.Unlock()
	if err := p.Signal(syscall.SIGKILL); err != nil && p.Running() {
		return err
	}
	select {
	case <-p.Done():
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("kill %s: still running after 10 s", p.Name)
	}
}

// WaitExit waits up to timeout for the process to exit.
func (p *Process) WaitExit(timeout time.Duration) error {
	select {
	case <-p.Done():
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %v", p.Name, timeout)
	}
}

// Terminate sends SIGTERM to the process alone, as `docker stop` does to a
// container's first process: the plugins it launched are its to stop.
func (p *Process) Terminate() error {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || !p.Running() {
		return fmt.Errorf("terminate %s: not running", p.Name)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("terminate %s: %w", p.Name, err)
	}
	return nil
}

// PID is the process ID of the current run (0 before the first start).
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
