package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/flexauth/flexauth/policies"
)

// runPolicy implements `flexauth policy test [DIR]`: compile the .rego
// modules of DIR (default: the embedded default policy) and run their tests.
//
// `flexauth policy review-child`, not in the usage, is the child process
// in which the API reviews an uploaded policy (policies.Reviewer): it
// reads the upload on stdin and writes the review as JSON on stdout, under
// the limits its parent set on it.
func runPolicy(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 1 && args[0] == "review-child" {
		return policies.ServeReviewChild(ctx, os.Stdin, stdout)
	}
	if len(args) == 0 || args[0] != "test" {
		return errors.New("usage: flexauth policy test [DIR]")
	}
	modules, tests := policies.Default(), policies.DefaultTests()
	if len(args) > 1 {
		var err error
		if modules, tests, err = readPolicyDir(args[1]); err != nil {
			return err
		}
	}
	results, err := policies.RunTests(ctx, modules, tests)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		status := "PASS"
		if !r.Pass {
			status, failed = "FAIL", failed+1
		}
		fmt.Fprintf(stdout, "%s %s.%s %s\n", status, r.Package, r.Name, r.Error)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d policy tests failed", failed)
	}
	return nil
}

func readPolicyDir(dir string) (modules, tests map[string]string, err error) {
	modules, tests = map[string]string{}, map[string]string{}
	paths, err := filepath.Glob(filepath.Join(dir, "*.rego"))
	if err != nil {
		return nil, nil, err
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no .rego files in %s", dir)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("read policy: %w", err)
		}
		if strings.HasSuffix(p, "_test.rego") {
			tests[filepath.Base(p)] = string(src)
		} else {
			modules[filepath.Base(p)] = string(src)
		}
	}
	return modules, tests, nil
}
