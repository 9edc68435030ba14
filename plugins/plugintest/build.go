package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Main is a TestMain helper for plugin tests: it builds each package into a
// temporary folder, stores the executable's path where the map says, runs
// the tests and removes the folder. It returns the exit code:
//
//	var pluginBin string
//
//	func TestMain(m *testing.M) {
//		os.Exit(plugintest.Main(m, map[*string]string{&pluginBin: "example.com/myplugin/cmd/flexauth-myplugin"}))
//	}
func Main(m *testing.M, builds map[*string]string) int {
	dir, err := os.MkdirTemp("", "flexauth-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugintest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	for bin, pkg := range builds {
		*bin = filepath.Join(dir, filepath.Base(pkg))
		build := exec.Command("go", "build", "-o", *bin, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "plugintest: build %s: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}
