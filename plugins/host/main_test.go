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

// testIdentityPluginArg makes the test binary serve testIdentityPlugin.
const testIdentityPluginArg = "serve-flexauth-test-identity-plugin"

// outboxBin and directoryBin are the flexauth-outbox and
// flexauth-directory executables built by TestMain. They are set once
// before any test runs and never written again.
var outboxBin, directoryBin string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case testPluginArg:
			sdk.ServeDelivery(testPlugin{})
			os.Exit(0)
		case testIdentityPluginArg:
			sdk.ServeIdentity(testIdentityPlugin{})
			os.Exit(0)
		}
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
	// Real external plugins, one of each kind, built the way an operator
	// would build them. One go build for both shares the work.
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/flexauth/flexauth/plugins/delivery/outbox/cmd/flexauth-outbox",
		"github.com/flexauth/flexauth/plugins/identity/directory/cmd/flexauth-directory")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build plugins: %v\n", err)
		return 1
	}
	outboxBin = filepath.Join(dir, "flexauth-outbox")
	directoryBin = filepath.Join(dir, "flexauth-directory")
	return m.Run()
}

// testPlugin misbehaves on request: the channel names the behaviour.
type testPlugin struct{}

func (testPlugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "test", Version: "0", Channels: []string{"test"}}, nil
}

func (testPlugin) Configure(context.Context, sdk.ConfigureRequest) error { return nil }

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

// testIdentityPlugin misbehaves on request: the authid names the
// behaviour.
type testIdentityPlugin struct{}

func (testIdentityPlugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "test-identity", Version: "0", Capabilities: []string{sdk.CapabilityLookup}}, nil
}

func (testIdentityPlugin) Configure(context.Context, sdk.ConfigureRequest) error { return nil }

func (testIdentityPlugin) Lookup(ctx context.Context, req sdk.LookupRequest) (sdk.Identity, error) {
	switch req.AuthID {
	case "crash":
		os.Exit(3)
	case "block":
		<-ctx.Done()
		return sdk.Identity{}, ctx.Err()
	case "temporary":
		return sdk.Identity{}, errors.New("directory server unavailable")
	case "permanent":
		return sdk.Identity{}, sdk.Permanent(errors.New("authid malformed"))
	case "half-found":
		// Data about a user the plugin says it does not know must not
		// reach the host's caller.
		return sdk.Identity{Found: false, Name: "ghost", Groups: []string{"admins"}}, nil
	}
	return sdk.Identity{Found: true, Name: req.AuthID, Attributes: map[string]string{"account": req.Account}}, nil
}

// testIdentityPluginSpec runs this test binary as an identity plugin.
func testIdentityPluginSpec(t *testing.T) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Name: "test-identity", Kind: sdk.KindIdentity, Command: []string{exe, testIdentityPluginArg}}
}
