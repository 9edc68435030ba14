//go:build !unix

package embedtemporal

// lockDatabase does nothing where flock is unavailable: running two servers
// on one database file is then the caller's mistake to avoid.
func lockDatabase(string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}
