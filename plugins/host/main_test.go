package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// testPluginArg makes the test binary serve testPlugin instead of running
// tests: the same re-exec trick the flexauth binary uses for built-in
// plugins. Argv is the only channel, since the child's environment is
// deliberately empty.
const testPluginArg = "serve-flexauth-test-plugin"

// outboxBin is the flexauth-outbox executable built by TestMain. It is set
// once before any test runs and never written again.
var outboxBin string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == testPluginArg {
		sdk.ServeDelivery(testPlugin{})
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flexauth-host-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// A real external plugin, built the way an operator would build it.
	outboxBin = filepath.Join(dir, "outbox")
	build := exec.Command("go", "build", "-o", outboxBin, "github.com/flexauth/flexauth/plugins/delivery/outbox/cmd/flexauth-outbox")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build flexauth-outbox: %v\n", err)
		return 1
	}
	return m.Run()
}

// testPlugin misbehaves on request: the channel names the behaviour.
type testPlugin struct{}

func (testPlugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "test", Version: "0", Channels: []string{"test"}}, nil
}

func (testPlugin) Configure(context.Context, map[string]string) error { return nil }

func (testPlugin) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	switch req.Channel {
	case "env":
		return sdk.SendResponse{MessageID: strings.Join(os.Environ(), "\n")}, nil
	case "crash":
		os.Exit(3)
	case "block":
		<-ctx.Done()
		return sdk.SendResponse{}, ctx.Err()
	case "log":
		sdk.Logger().Info("test plugin log", "attempt", req.Attempt)
	case "temporary":
		return sdk.SendResponse{}, errors.New("provider unavailable")
	case "permanent":
		return sdk.SendResponse{}, sdk.Permanent(errors.New("recipient rejected"))
	}
	return sdk.SendResponse{MessageID: "ok"}, nil
}

// testPluginSpec runs this test binary as a plugin.
func testPluginSpec(t *testing.T) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Name: "test", Command: []string{exe, testPluginArg}}
}
