//go:build unix

package fileperm

import (
	"io/fs"
	"syscall"
)

// Owner returns the user id that owns the file info describes; ok is
// false where the system has no such notion.
func Owner(info fs.FileInfo) (uid int, ok bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
