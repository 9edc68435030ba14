//go:build !unix

package fileperm

import "io/fs"

// Owner returns the user id that owns the file info describes; ok is
// false where the system has no such notion, as here.
func Owner(fs.FileInfo) (uid int, ok bool) { return 0, false }
