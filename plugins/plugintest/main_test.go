package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/flexauth/flexauth/plugins/plugintest/internal/testplugin"
)

// servePluginArg makes the test binary serve testplugin with the fault
// named in the next argument instead of running tests. Argv is the only
// channel: the host gives plugin processes an empty environment.
const servePluginArg = "serve-plugintest-plugin"

// faultEnv, set only when TestRunReportsWhatIsBroken re-executes this
// binary, names the fault TestRunAgainstFaultFromEnvironment runs the kit
// against; the outer test then reads the verdict from the output.
const faultEnv = "FLEXAUTH_PLUGINTEST_FAULT"

// outboxBin and directoryBin are the flexauth-outbox and
// flexauth-directory executables built by TestMain. They are set once
// before any test runs and never written again.
var outboxBin, directoryBin string

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == servePluginArg {
		testplugin.Serve(testplugin.Fault(os.Args[2]))
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(faultEnv) != "" {
		// The re-executed run only needs testplugin.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "flexauth-plugintest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The reference plugins, built the way their authors would build them.
	outboxBin = filepath.Join(dir, "flexauth-outbox")
	directoryBin = filepath.Join(dir, "flexauth-directory")
	build := exec.Command("go", "build", "-o", dir,
		"github.com/flexauth/flexauth/plugins/delivery/outbox/cmd/flexauth-outbox",
		"github.com/flexauth/flexauth/plugins/identity/directory/cmd/flexauth-directory")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build the reference plugins: %v\n", err)
		return 1
	}
	return m.Run()
}
