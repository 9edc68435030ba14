package host

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDiscoverListsExecutablesOnly(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("smtp", 0o755)
	write("webhook", 0o700)
	write("README.md", 0o644)
	write(".hidden", 0o755)
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "smtp"), filepath.Join(dir, "mail")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}

	specs, err := Discover(dir)
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	want := []Spec{
		{Name: "mail", Command: []string{filepath.Join(dir, "mail")}},
		{Name: "smtp", Command: []string{filepath.Join(dir, "smtp")}},
		{Name: "webhook", Command: []string{filepath.Join(dir, "webhook")}},
	}
	if !reflect.DeepEqual(specs, want) {
		t.Fatalf("specs = %+v\nwant %+v", specs, want)
	}
}

func TestDiscoverMissingDirectoryFails(t *testing.T) {
	if _, err := Discover(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("Discover of a missing directory succeeded")
	}
}
