package embedtemporal_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	_ "modernc.org/sqlite"

	"github.com/flexauth/flexauth/embedtemporal"
	"github.com/flexauth/flexauth/internal/freeport"
)

const (
	taskQueue  = "embedtemporal-test"
	nameSignal = "name"
	// helperDatabaseEnv makes TestHelperProcess run a server on that file.
	helperDatabaseEnv = "EMBEDTEMPORAL_HELPER_DATABASE"
)

type greetInput struct{ Name string }

type greetResult struct{ Greeting string }

type greetActivities struct{}

func (*greetActivities) Greet(_ context.Context, name string) (string, error) {
	return "hello, " + name, nil
}

// greetWorkflow greets through an activity.
func greetWorkflow(ctx workflow.Context, in greetInput) (greetResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var a *greetActivities
	var greeting string
	if err := workflow.ExecuteActivity(ctx, a.Greet, in.Name).Get(ctx, &greeting); err != nil {
		return greetResult{}, err
	}
	return greetResult{Greeting: greeting}, nil
}

type waitInput struct{ Delay time.Duration }

// waitForNameWorkflow waits for the name signal, then for Delay, then greets.
func waitForNameWorkflow(ctx workflow.Context, in waitInput) (greetResult, error) {
	var name string
	workflow.GetSignalChannel(ctx, nameSignal).Receive(ctx, &name)
	if in.Delay > 0 {
		if err := workflow.Sleep(ctx, in.Delay); err != nil {
			return greetResult{}, err
		}
	}
	return greetResult{Greeting: "hello, " + name}, nil
}

func register(r worker.Registry) {
	r.RegisterWorkflow(greetWorkflow)
	r.RegisterWorkflow(waitForNameWorkflow)
	r.RegisterActivity(&greetActivities{})
}

func TestServerRunsWorkflow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db := filepath.Join(t.TempDir(), "new", "temporal.db")

	began := time.Now()
	s := startServer(ctx, t, embedtemporal.Config{DatabasePath: db})
	t.Logf("first start (schema created) took %s", time.Since(began))
	if s.Namespace() != embedtemporal.DefaultNamespace {
		t.Errorf("namespace = %q, want %q", s.Namespace(), embedtemporal.DefaultNamespace)
	}
	if !strings.HasPrefix(s.HostPort(), "127.0.0.1:") {
		t.Errorf("host port = %q, want one on 127.0.0.1", s.HostPort())
	}

	c := dial(t, s.HostPort(), s.Namespace())
	startWorker(t, c)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: taskQueue}, greetWorkflow, greetInput{Name: "flexauth"})
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	var got greetResult
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if got.Greeting != "hello, flexauth" {
		t.Errorf("greeting = %q, want %q", got.Greeting, "hello, flexauth")
	}
	t.Logf("start and workflow took %s", time.Since(began))

	_, err = embedtemporal.Start(ctx, embedtemporal.Config{DatabasePath: db})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second server on the same file: err = %v, want an in-use error", err)
	}
}

func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := filepath.Join(t.TempDir(), "temporal.db")
	files := []string{db, db + "-wal", db + "-shm"}
	check := func(when string) {
		t.Helper()
		for _, p := range files {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if got := info.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: %s is %04o, want 0600", when, filepath.Base(p), got)
			}
		}
	}

	s := startServer(ctx, t, embedtemporal.Config{DatabasePath: db})
	check("a new database")
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// A database from before, readable by every user of the machine.
	for _, p := range files {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startServer(ctx, t, embedtemporal.Config{DatabasePath: db})
	check("a database that was 0644")
}

func TestWorkflowContinuesAfterRestartOnAnotherPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	db := filepath.Join(t.TempDir(), "temporal.db")
	const namespace = "flexauth-test"

	first := startServer(ctx, t, embedtemporal.Config{DatabasePath: db, Namespace: namespace})
	c1 := dial(t, first.HostPort(), namespace)
	nsID := namespaceID(ctx, t, c1, namespace)
	w1 := startWorker(t, c1)
	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: taskQueue}, waitForNameWorkflow, waitInput{Delay: 2 * time.Second})
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	waitForEvent(ctx, t, c1, run, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	if err := c1.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), nameSignal, "restart"); err != nil {
		t.Fatalf("signal workflow: %v", err)
	}
	// The 2 s timer is running when the server stops.
	waitForEvent(ctx, t, c1, run, enumspb.EVENT_TYPE_TIMER_STARTED)
	w1.Stop()
	c1.Close()
	began := time.Now()
	if err := first.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stop took %s", time.Since(began))

	addr := freeAddrOtherThan(t, first.HostPort())
	began = time.Now()
	second := startServer(ctx, t, embedtemporal.Config{DatabasePath: db, Namespace: namespace, Addr: addr})
	t.Logf("restart on %s (was %s) took %s", second.HostPort(), first.HostPort(), time.Since(began))
	c2 := dial(t, second.HostPort(), namespace)
	if got := namespaceID(ctx, t, c2, namespace); got != nsID {
		t.Errorf("namespace ID after restart = %s, want %s (namespace must not be recreated)", got, nsID)
	}
	startWorker(t, c2)

	var got greetResult
	if err := c2.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &got); err != nil {
		t.Fatalf("workflow result after restart: %v", err)
	}
	if got.Greeting != "hello, restart" {
		t.Errorf("greeting = %q, want %q", got.Greeting, "hello, restart")
	}
}

func TestWorkflowSurvivesServerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := filepath.Join(t.TempDir(), "temporal.db")

	child, addr := startHelperProcess(ctx, t, db)
	c1 := dial(t, addr, embedtemporal.DefaultNamespace)
	w1 := startWorker(t, c1)
	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: taskQueue}, waitForNameWorkflow, waitInput{})
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	waitForEvent(ctx, t, c1, run, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	w1.Stop()
	// Acknowledged signal, then SIGKILL with the resulting workflow task
	// still pending.
	if err := c1.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), nameSignal, "kill"); err != nil {
		t.Fatalf("signal workflow: %v", err)
	}
	c1.Close()
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill server process: %v", err)
	}
	err = child.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("server process ended with %v, want killed by SIGKILL", err)
	}

	began := time.Now()
	s := startServer(ctx, t, embedtemporal.Config{DatabasePath: db})
	t.Logf("start after kill -9 took %s (server was on %s, now %s)", time.Since(began), addr, s.HostPort())
	c2 := dial(t, s.HostPort(), s.Namespace())
	startWorker(t, c2)
	var got greetResult
	if err := c2.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &got); err != nil {
		t.Fatalf("workflow result after kill: %v", err)
	}
	if got.Greeting != "hello, kill" {
		t.Errorf("greeting = %q, want %q", got.Greeting, "hello, kill")
	}
	t.Logf("workflow done %s after restart", time.Since(began))
}

// TestHelperProcess is the server that TestWorkflowSurvivesServerKilled
// kills; it does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	db := os.Getenv(helperDatabaseEnv)
	if db == "" {
		t.Skip("runs only as the child of TestWorkflowSurvivesServerKilled")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := embedtemporal.Start(ctx, embedtemporal.Config{DatabasePath: db, Logger: warnLogger()})
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("ADDR %s\n", s.HostPort())
	// Serve until killed; exit if the parent goes away (stdin closes).
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(2)
}

func TestIncompleteSchemaIsRefused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(`CREATE TABLE namespaces (id BLOB)`); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()

	_, err = embedtemporal.Start(context.Background(), embedtemporal.Config{DatabasePath: db})
	if err == nil || !strings.Contains(err.Error(), "incomplete temporal schema") {
		t.Errorf("err = %v, want an incomplete-schema error", err)
	}
}

func TestBadAddressIsRefused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	for _, addr := range []string{"127.0.0.1", "example.com:7233", "127.0.0.1:http"} {
		if _, err := embedtemporal.Start(context.Background(), embedtemporal.Config{DatabasePath: db, Addr: addr}); err == nil {
			t.Errorf("address %q accepted, want an error", addr)
		}
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("database created despite a bad address (stat: %v)", err)
	}
}

func startServer(ctx context.Context, t *testing.T, cfg embedtemporal.Config) *embedtemporal.Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = warnLogger()
	}
	s, err := embedtemporal.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop server: %v", err)
		}
	})
	return s
}

// warnLogger writes to stderr rather than t.Log: server goroutines may log
// after a test has returned.
func warnLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func dial(t *testing.T, hostPort, namespace string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  hostPort,
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(warnLogger()),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", hostPort, err)
	}
	t.Cleanup(c.Close)
	return c
}

func startWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w := worker.New(c, taskQueue, worker.Options{})
	register(w)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return w
}

func namespaceID(ctx context.Context, t *testing.T, c client.Client, namespace string) string {
	t.Helper()
	resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		t.Fatalf("describe namespace %q: %v", namespace, err)
	}
	return resp.GetNamespaceInfo().GetId()
}

// waitForEvent polls the workflow's history until it holds an event of type
// want.
func waitForEvent(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun, want enumspb.EventType) {
	t.Helper()
	for {
		iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			event, err := iter.Next()
			if err != nil {
				t.Fatalf("read history: %v", err)
			}
			if event.GetEventType() == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %s event in history: %v", want, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freeAddrOtherThan returns a free 127.0.0.1 address whose port differs from
// the one in hostPort.
func freeAddrOtherThan(t *testing.T, hostPort string) string {
	t.Helper()
	_, old, _ := net.SplitHostPort(hostPort)
	for {
		addr, err := freeport.Addr()
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		if _, p, _ := net.SplitHostPort(addr); p != old {
			return addr
		}
	}
}

// startHelperProcess re-runs this test binary as TestHelperProcess serving
// db, and returns it once its frontend answers.
func startHelperProcess(ctx context.Context, t *testing.T, db string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperDatabaseEnv+"="+db)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper process: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	lines := make(chan string)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			t.Fatalf("helper process did not report its address: %v", ctx.Err())
		case line, ok := <-lines:
			if !ok {
				t.Fatal("helper process ended before reporting its address")
			}
			if addr, found := strings.CutPrefix(line, "ADDR "); found {
				t.Logf("helper process %d serves %s after %s", cmd.Process.Pid, addr, time.Since(began))
				go func() { // keep draining so the child never blocks on stdout
					for range lines {
					}
				}()
				return cmd, addr
			}
			if strings.HasPrefix(line, "ERROR ") {
				t.Fatalf("helper process: %s", line)
			}
		}
	}
}

func TestBusyAddressFailsStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	began := time.Now()
	_, err = embedtemporal.Start(ctx, embedtemporal.Config{
		DatabasePath: filepath.Join(t.TempDir(), "temporal.db"),
		Addr:         l.Addr().String(),
		Logger:       warnLogger(),
	})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start on a busy address: err = %v, want address already in use", err)
	}
	t.Logf("start on a busy address failed after %s: %v", time.Since(began), err)
}
