package policies

import (
	"embed"
	"io/fs"
	"strings"
)

// defaultFS holds the default policy: every .rego file beside this one,
// each next to its _test.rego.
//
//go:embed *.rego
var defaultFS embed.FS

// Default returns the embedded default policy modules (file name -> source),
// tests excluded.
func Default() map[string]string {
	return readDefault(func(name string) bool { return !isTestFile(name) })
}

// DefaultTests returns the embedded _test.rego modules of the default policy.
func DefaultTests() map[string]string {
	return readDefault(isTestFile)
}

func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// readDefault returns a fresh map on every call so that callers may change it
// without touching what others get.
func readDefault(keep func(name string) bool) map[string]string {
	entries, err := fs.ReadDir(defaultFS, ".")
	if err != nil {
		// The embedded tree is fixed at build time; failing to list it is a
		// build defect, not a runtime condition.
		panic("policies: read embedded default policy: " + err.Error())
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if !keep(e.Name()) {
			continue
		}
		src, err := fs.ReadFile(defaultFS, e.Name())
		if err != nil {
			panic("policies: read embedded default policy: " + err.Error())
		}
		out[e.Name()] = string(src)
	}
	return out
}
