package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the flexauth binary the tests built (flexauthBinary),
// which lives in a temporary folder of its own.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		_ = os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}
