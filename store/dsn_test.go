package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/store"
)

// A database URL the driver cannot read is an error that names neither the
// URL nor its password (pgdriver panicked, and Go's URL errors quote the
// whole URL: the password went to the logs).
func TestAnUnreadableDatabaseURLKeepsItsPasswordOut(t *testing.T) {
	for _, dsn := range []string{
		"postgres://flexauth:s3cr/et+key@127.0.0.1:5432/flexauth",          // a base64 password, "/" unencoded
		"postgres://flexauth:s3cr?et@127.0.0.1:5432/flexauth",              // "?" unencoded
		"postgres://flexauth:s3cret@127.0.0.1:5432/flexauth?sslmode=bogus", // a parameter the driver refuses
	} {
		_, err := store.Open(context.Background(), dsn)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "s3cr") || strings.Contains(err.Error(), "127.0.0.1") {
			t.Fatalf("Open's error quotes the URL: %v", err)
		}
		if !strings.Contains(err.Error(), "database URL") {
			t.Fatalf("Open's error does not say what is wrong: %v", err)
		}
	}
}
