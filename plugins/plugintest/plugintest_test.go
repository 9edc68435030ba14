package plugintest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/plugintest/internal/testplugin"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// TestOutboxConforms runs the kit against the reference plugin. The outbox
// has no outage or hang to simulate, so those checks skip.
func TestOutboxConforms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	Run(t, Target{
		Name:    "outbox",
		Command: []string{outboxBin},
		Config:  map[string]string{"path": path},
		Valid:   sdk.SendRequest{Channel: "email", To: "ada@example.com", Subject: "Sign in", Text: "Your code is 123456", Code: "123456"},
		Invalid: sdk.SendRequest{Channel: "fax", To: "ada@example.com"},
		Delivered: func(t testing.TB, id string) int {
			return outboxCount(t, path, id)
		},
	})
}

// outboxCount counts the outbox lines for id; a missing file is none.
func outboxCount(t testing.TB, path, id string) int {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatalf("open outbox: %v", err)
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		var l struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			t.Fatalf("outbox line %q: %v", s.Text(), err)
		}
		if l.ID == id {
			n++
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	return n
}

// dirSink is the test's view of testplugin's destination directory.
type dirSink struct{ dir string }

func (s dirSink) Delivered(t testing.TB, id string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, testplugin.DeliveredFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatalf("read delivered: %v", err)
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.TrimSuffix(line, "\n") == id {
			n++
		}
	}
	return n
}

func (s dirSink) Unavailable(t testing.TB, on bool) { s.toggle(t, testplugin.UnavailableFile, on) }
func (s dirSink) Slow(t testing.TB, on bool)        { s.toggle(t, testplugin.SlowFile, on) }

func (s dirSink) toggle(t testing.TB, name string, on bool) {
	t.Helper()
	path := filepath.Join(s.dir, name)
	var err error
	if on {
		err = os.WriteFile(path, nil, 0o600)
	} else if err = os.Remove(path); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		t.Fatalf("set %s=%v: %v", name, on, err)
	}
}

// testTarget runs this test binary as testplugin with fault, delivering
// into a fresh directory.
func testTarget(t testing.TB, fault testplugin.Fault) Target {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sink := dirSink{dir: t.TempDir()}
	return Target{
		Name:        "testplugin",
		Command:     []string{exe, servePluginArg, string(fault)},
		Config:      map[string]string{"dir": sink.dir},
		Valid:       sdk.SendRequest{Channel: "test", To: "someone"},
		Invalid:     sdk.SendRequest{Channel: "test"},
		Delivered:   sink.Delivered,
		Unavailable: sink.Unavailable,
		Slow:        sink.Slow,
	}
}

// TestHealthyPluginConforms proves every check, the optional ones
// included, passes on a correct plugin: a kit that fails good plugins
// would teach authors to ignore it.
func TestHealthyPluginConforms(t *testing.T) {
	Run(t, testTarget(t, testplugin.Healthy))
}

// TestEachCheckCatchesItsDefect runs each check against a plugin with the
// defect it exists to catch, and requires it to report an error.
func TestEachCheckCatchesItsDefect(t *testing.T) {
	tests := []struct {
		name  string
		fault testplugin.Fault
		check func(testing.TB, *kit) error
		want  string // in the error
	}{
		{"plugin without name, version or channels", testplugin.Anonymous, checkInfo, "no name"},
		{"plugin that reports success without delivering", testplugin.Drop, checkDeliveredOnce, "delivered 0 times, want 1"},
		{"plugin that delivers twice", testplugin.DeliverTwice, checkDeliveredOnce, "delivered 2 times, want 1"},
		{"plugin that forgets delivered IDs", testplugin.Redeliver, checkRetryNotRedelivered, "delivered 2 times, want 1"},
		{"plugin that forgets delivered IDs, sent at once", testplugin.Redeliver, checkConcurrentDuplicates, "delivered 5 times, want 1"},
		{"plugin whose retry races the original", testplugin.RacyRetry, checkConcurrentDuplicates, "want 1"},
		{"plugin that refuses an invalid request temporarily", testplugin.TemporaryInvalid, checkInvalidRefused, "not permanent"},
		{"plugin that accepts an empty configuration", testplugin.LenientConfig, checkBadConfigRefused, "not permanent"},
		{"plugin that reports an outage as permanent", testplugin.PermanentOutage, checkUnavailable, "failed permanently"},
		{"plugin that stops serving after a hang", testplugin.Stuck, checkSlow, "keep serving"},
		{"plugin that loses concurrent sends", testplugin.LossyConcurrent, checkConcurrent, "delivered 0 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := newKit(t, testTarget(t, tt.fault))
			if err != nil {
				t.Fatal(err)
			}
			// Launch with the full margin (a race-instrumented plugin
			// takes a while to start), then shorten the timeout: a plugin
			// that stopped serving shows it by timing out, and the test
			// need not wait the production margin for that.
			ctx, cancel := k.context(t)
			_, err = k.host.Info(ctx, k.target.Name)
			cancel()
			if err != nil {
				t.Fatalf("launch: %v", err)
			}
			k.timeout = 2 * time.Second
			err = tt.check(t, k)
			if err == nil {
				t.Fatalf("check passed a plugin with fault %q", tt.fault)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to mention %q", err, tt.want)
			}
			t.Logf("reported: %v", err)
		})
	}
}

// TestRunAgainstFaultFromEnvironment is the inner half of
// TestRunReportsWhatIsBroken and skips on its own.
func TestRunAgainstFaultFromEnvironment(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("run by TestRunReportsWhatIsBroken only")
	}
	Run(t, testTarget(t, testplugin.Fault(fault)))
}

// TestRunReportsWhatIsBroken runs Run itself, in a child test process,
// against a plugin that redelivers on retry: the test must fail, in the
// two checks of repeated IDs and nowhere else, with the plugin's logs
// attached.
func TestRunReportsWhatIsBroken(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestRunAgainstFaultFromEnvironment$", "-test.v")
	cmd.Env = append(os.Environ(), faultEnv+"="+string(testplugin.Redeliver))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("child test run: %v, want exit status 1; output:\n%s", err, out.String())
	}

	const parent = "TestRunAgainstFaultFromEnvironment/"
	for _, c := range checks() {
		name := parent + strings.ReplaceAll(c.name, " ", "_")
		want := "--- PASS: " + name
		if strings.Contains(c.name, "same ID") {
			want = "--- FAIL: " + name
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, want := range []string{"delivered 2 times, want 1", "host and plugin logs:", "plugin launched"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("child output:\n%s", out.String())
	}
}
