package smtp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pluginBin is the flexauth-smtp executable built by TestMain, for the tests
// that run the plugin as the host does: in its own process. It is set once
// before any test runs and never written again.
var pluginBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flexauth-smtp-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pluginBin = filepath.Join(dir, "flexauth-smtp")
	build := exec.Command("go", "build", "-o", pluginBin, "github.com/flexauth/flexauth/plugins/delivery/smtp/cmd/flexauth-smtp")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build flexauth-smtp: %v\n", err)
		return 1
	}
	return m.Run()
}
