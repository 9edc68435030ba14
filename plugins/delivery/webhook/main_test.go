package webhook

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// webhookBin is the flexauth-webhook executable built by TestMain. It is
// set once before any test runs and never written again.
var webhookBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flexauth-webhook-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Built the way an operator builds it, for the conformance kit.
	webhookBin = filepath.Join(dir, "flexauth-webhook")
	build := exec.Command("go", "build", "-o", webhookBin, "github.com/flexauth/flexauth/plugins/delivery/webhook/cmd/flexauth-webhook")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build flexauth-webhook: %v\n", err)
		return 1
	}
	return m.Run()
}
