package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The database URL holds a password: flag prints a string flag's default
// in -h and after a mistyped flag, so --database takes no default from
// FLEXAUTH_DATABASE_URL (the environment is read after parsing) and the
// password stays out of terminals and CI logs.
func TestHelpAndFlagErrorsDoNotPrintTheDatabasePassword(t *testing.T) {
	bin := flexauthBinary(t)
	for _, args := range [][]string{
		{"api", "-h"}, {"api", "--no-such-flag"}, {"worker", "--no-such-flag"},
		{"migrate", "-h"}, {"account", "create", "--idd", "x"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "FLEXAUTH_DATABASE_URL=postgres://flexauth:topsecret-password@db.internal:5432/flexauth")
		out, _ := cmd.CombinedOutput()
		if strings.Contains(string(out), "topsecret-password") {
			t.Errorf("flexauth %s printed the database password:\n%s", strings.Join(args, " "), out)
		}
		if !strings.Contains(string(out), "FLEXAUTH_DATABASE_URL") && !strings.Contains(string(out), "flag provided but not defined") {
			t.Errorf("flexauth %s says neither the flag's environment variable nor the error:\n%s", strings.Join(args, " "), out)
		}
	}
}
