package host

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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

// Discover returns a Spec for every executable regular file in dir (the
// external plugin folder), named after the file, in file name order. Hidden files
// and directories are skipped.
//
// The Specs have no Config, no Checksum and no Kind (so delivery): the
// operator's configuration supplies them. A checksum computed here from
// the file itself would prove nothing.
func Discover(dir string) ([]Spec, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("discover plugins in %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("discover plugins in %s: %w", dir, err)
	}
	var specs []Spec
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
			return nil, fmt.Errorf("discover plugins in %s: %w", dir, err)
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		specs = append(specs, Spec{Name: e.Name(), Command: []string{path}})
	}
	return specs, nil
}
