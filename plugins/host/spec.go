package host

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/flexauth/flexauth/internal/fileperm"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// Spec says how to run one plugin.
type Spec struct {
	// Name is what callers pass to Host.Send or Host.Lookup, e.g. "outbox".
	Name string
	// Kind is the plugin kind the process serves: sdk.KindDelivery
	// ("delivery", also when empty, which keeps specs written before
	// identity plugins working) or sdk.KindIdentity ("identity").
	Kind string
	// Command is the argv of the plugin process. For built-in plugins it is
	// the flexauth binary re-executing itself, e.g.
	// {os.Executable(), "plugin", "serve", "outbox"}; for external plugins,
	// the executable's path in the plugin folder.
	Command []string
	// Config is passed to the plugin's Configure after every (re)launch.
	Config map[string]string
	// Checksum is the optional SHA-256 of Command[0]. When set, the file is
	// hashed before every launch and a mismatch refuses the launch.
	Checksum []byte
}

// kind is s.Kind with its default applied.
func (s Spec) kind() string {
	if s.Kind == "" {
		return sdk.KindDelivery
	}
	return s.Kind
}

// kinds lists the plugin kinds the host runs, in the order Check tries
// them.
func kinds() []string { return []string{sdk.KindDelivery, sdk.KindIdentity} }

func (s Spec) validate() error {
	if s.Name == "" {
		return errors.New("plugin name is empty")
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return fmt.Errorf("plugin %q: command is empty", s.Name)
	}
	if !slices.Contains(kinds(), s.kind()) {
		return fmt.Errorf("plugin %q: kind %q is not one of %s", s.Name, s.Kind, strings.Join(kinds(), ", "))
	}
	if len(s.Checksum) != 0 && len(s.Checksum) != sha256.Size {
		return fmt.Errorf("plugin %q: checksum is %d bytes, want a %d-byte SHA-256", s.Name, len(s.Checksum), sha256.Size)
	}
	return nil
}

// Folder is what Discover found in a plugin folder.
type Folder struct {
	// Dir is the folder's absolute path; empty when there is no plugin
	// folder.
	Dir string
	// Plugins are the executables it may run, in file name order.
	Plugins []Spec
	// Refused are the executables it will not run, and why.
	Refused []Refusal
}

// Refusal is an executable in the plugin folder that flexauth will not run
// because someone other than its owner could have changed it.
type Refusal struct {
	Name   string // the file's name, which would have been the plugin's
	Path   string
	Reason string // what is wrong and how to fix it
}

func (r Refusal) Error() string {
	return fmt.Sprintf("plugin %s refused: %s", r.Path, r.Reason)
}

// plugin returns the runnable plugin named name.
func (f Folder) plugin(name string) (Spec, bool) {
	i := slices.IndexFunc(f.Plugins, func(s Spec) bool { return s.Name == name })
	if i < 0 {
		return Spec{}, false
	}
	return f.Plugins[i], true
}

// refusal returns why the executable named name is refused.
func (f Folder) refusal(name string) (Refusal, bool) {
	i := slices.IndexFunc(f.Refused, func(r Refusal) bool { return r.Name == name })
	if i < 0 {
		return Refusal{}, false
	}
	return f.Refused[i], true
}

// Discover lists every executable regular file in dir (the external
// plugin folder), named after the file, in file name order. Hidden files
// and directories are skipped; a symbolic link to an executable counts.
//
// Anything in the folder runs with flexauth's rights, so an executable is
// refused, not run, when a user other than flexauth's could have put it
// there or changed it: when the folder (or, for a link, the target's
// folder) is writable by group or others, when the file is writable by
// group or others, or when it is owned by anyone but the user running
// flexauth or root.
//
// The Specs have no Config, no Checksum and no Kind (so delivery): the
// operator's configuration supplies them. A checksum computed here from
// the file itself would prove nothing.
func Discover(dir string) (Folder, error) {
	return discover(dir, os.Geteuid())
}

// discover is Discover for a flexauth running as the user uid.
func discover(dir string, uid int) (Folder, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Folder{}, fmt.Errorf("discover plugins in %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return Folder{}, fmt.Errorf("discover plugins in %s: %w", dir, err)
	}
	folder := Folder{Dir: abs}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(abs, e.Name())
		// Stat, not the entry's type: a symlink to an executable is a
		// plugin too.
		info, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // dangling symlink
			}
			return Folder{}, fmt.Errorf("discover plugins in %s: %w", dir, err)
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		reason, err := unsafeToRun(path, info, uid)
		if err != nil {
			return Folder{}, fmt.Errorf("discover plugins in %s: %w", dir, err)
		}
		if reason != "" {
			folder.Refused = append(folder.Refused, Refusal{Name: e.Name(), Path: path, Reason: reason})
			continue
		}
		folder.Plugins = append(folder.Plugins, Spec{Name: e.Name(), Command: []string{path}})
	}
	return folder, nil
}

// unsafeToRun says why the executable at path (info is its target's)
// could have been changed by someone other than uid or root, or "" when
// it could not.
func unsafeToRun(path string, info fs.FileInfo, uid int) (string, error) {
	if runtime.GOOS == "windows" {
		return "", nil // no Unix modes or owners to check there
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	folders := []string{filepath.Dir(path)}
	if d := filepath.Dir(target); d != folders[0] {
		folders = append(folders, d)
	}
	for _, d := range folders {
		fi, err := os.Stat(d)
		if err != nil {
			return "", fmt.Errorf("inspect %s: %w", d, err)
		}
		if perm := fi.Mode().Perm(); perm&fileperm.GroupOrOtherWrite != 0 {
			return fmt.Sprintf("its folder %s is mode %04o, writable by group or others (chmod go-w %s)", d, perm, d), nil
		}
	}
	if perm := info.Mode().Perm(); perm&fileperm.GroupOrOtherWrite != 0 {
		return fmt.Sprintf("the file is mode %04o, writable by group or others (chmod go-w %s)", perm, target), nil
	}
	if owner, ok := fileperm.Owner(info); ok && owner != uid && owner != 0 {
		return fmt.Sprintf("the file is owned by uid %d, neither uid %d running flexauth nor root (chown %d %s)", owner, uid, uid, target), nil
	}
	return "", nil
}
