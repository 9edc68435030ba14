package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Name is the plugin's name, as reported by Info.
const Name = "directory"

// version is reported by Info; bump it when the file formats change.
const version = "1.0.0"

// Configuration keys.
const (
	keyPath   = "path"
	keyReload = "reload"
)

// Directory answers lookups from a user file. It is safe for concurrent
// use.
type Directory struct {
	logger *slog.Logger

	// users is the table lookups read; nil until configured. An atomic
	// pointer, so a reload never makes lookups wait.
	users atomic.Pointer[table]

	// mu serialises Configure and reloads, and guards the fields below.
	mu sync.Mutex
	// src is the configured file; nil until configured.
	src *source
	// stop ends the current reload loop, if any.
	stop chan struct{}
}

// source is the configured file and what the plugin last made of it.
type source struct {
	path string
	// loaded is the version of the file users came from.
	loaded fileVersion
	// rejected and rejectedWhy are the last version refused on reload and
	// why, so that a bad file is logged once, not on every tick.
	rejected    fileVersion
	rejectedWhy string
}

// fileVersion tells whether a file changed since it was read. Size as well
// as the modification time, because a file rewritten within the file
// system's timestamp granularity keeps its time.
type fileVersion struct {
	modTime time.Time
	size    int64
}

var _ sdk.IdentityProvider = (*Directory)(nil)

// New returns an unconfigured Directory logging through sdk.Logger;
// Configure must be called before Lookup.
func New() *Directory {
	return NewWithLogger(sdk.Logger())
}

// NewWithLogger is New with another logger, for running the directory
// inside a process that is not a plugin (and for tests).
func NewWithLogger(logger *slog.Logger) *Directory {
	return &Directory{logger: logger}
}

// Info describes the directory plugin.
func (d *Directory) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: Name, Version: version, Kind: sdk.KindIdentity, Capabilities: []string{sdk.CapabilityLookup}}, nil
}

// Configure takes {"path": "/abs/users.csv" or ".json", "reload": "30s"}.
// The file is read at once: a missing, unreadable or malformed file is
// refused permanently, naming the line. "reload", when set, re-reads the
// file that often if it changed. Configure may be called again; the new
// configuration replaces the old one only if it is accepted.
func (d *Directory) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	path, every, err := parseConfig(req.Config)
	if err != nil {
		return sdk.Permanent(err)
	}
	v, t, err := load(path)
	if err != nil {
		return sdk.Permanent(err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil {
		close(d.stop)
		d.stop = nil
	}
	d.src = &source{path: path, loaded: v}
	d.users.Store(t)
	d.logger.Info("directory loaded", "path", path, "users", len(t.users))
	if every > 0 {
		d.stop = make(chan struct{})
		go d.reloadEvery(every, d.stop)
	}
	return nil
}

func parseConfig(config map[string]string) (path string, every time.Duration, err error) {
	var in struct {
		Path   string         `config:"path"`
		Reload *time.Duration `config:"reload"`
	}
	// A decoding error leaves the other key decoded: it is checked below
	// all the same, to report every mistake.
	errs := []error{sdk.ConfigureRequest{Config: config}.Decode(&in)}
	path = in.Path
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case path == "":
		errs = append(errs, fmt.Errorf("missing %q", keyPath))
	case !filepath.IsAbs(path):
		// The plugin's working directory is the host's; a relative path
		// would depend on where flexauth happened to start.
		errs = append(errs, fmt.Errorf("%q %q is not absolute", keyPath, path))
	case ext != ".csv" && ext != ".json":
		errs = append(errs, fmt.Errorf("%q %q: want a .csv or .json file", keyPath, path))
	}
	if in.Reload != nil {
		if every = *in.Reload; every <= 0 {
			errs = append(errs, fmt.Errorf("%q %s must be positive", keyReload, every))
		}
	}
	return path, every, errors.Join(errs...)
}

// Lookup finds req.AuthID (exactly, case-sensitive) among the rows for
// req.Account and the rows for every account, preferring the former.
func (d *Directory) Lookup(_ context.Context, req sdk.LookupRequest) (sdk.Identity, error) {
	t := d.users.Load()
	if t == nil {
		return sdk.Identity{}, sdk.Permanent(fmt.Errorf("not configured: missing %q", keyPath))
	}
	if req.AuthID == "" {
		return sdk.Identity{}, sdk.Permanent(errors.New("missing authid"))
	}
	u, ok := t.lookup(req.Account, req.AuthID)
	if !ok {
		return sdk.Identity{Found: false}, nil
	}
	return u.identity(), nil
}

// Close stops reloading. Lookups keep answering from the last table.
func (d *Directory) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil {
		close(d.stop)
		d.stop = nil
	}
}

// reloadEvery re-reads the file every interval until stop is closed.
func (d *Directory) reloadEvery(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.reload()
		}
	}
}

// reload re-reads the file if it changed. A file that no longer parses is
// logged and ignored: answering from the last good copy is better than
// answering "unknown user" for everyone because of a typo.
func (d *Directory) reload() {
	d.mu.Lock()
	defer d.mu.Unlock()
	src := d.src
	if src == nil {
		return
	}
	v, err := stat(src.path)
	if err == nil && (v == src.loaded || v == src.rejected) {
		return
	}
	var t *table
	if err == nil {
		v, t, err = load(src.path)
	}
	if err != nil {
		if v != src.rejected || err.Error() != src.rejectedWhy {
			d.logger.Warn("directory file rejected; keeping the last good copy", "path", src.path, "error", err.Error())
		}
		src.rejected, src.rejectedWhy = v, err.Error()
		return
	}
	src.loaded, src.rejected, src.rejectedWhy = v, fileVersion{}, ""
	d.users.Store(t)
	d.logger.Info("directory reloaded", "path", src.path, "users", len(t.users))
}

func stat(path string) (fileVersion, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileVersion{}, fmt.Errorf("read directory: %w", err)
	}
	return fileVersion{modTime: fi.ModTime(), size: fi.Size()}, nil
}

// load reads and parses the file. The version is taken before reading, so
// a write that lands during the read changes the file's version again and
// the next reload sees it.
func load(path string) (fileVersion, *table, error) {
	v, err := stat(path)
	if err != nil {
		return fileVersion{}, nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fileVersion{}, nil, fmt.Errorf("read directory: %w", err)
	}
	t, err := parse(path, data)
	if err != nil {
		return v, nil, fmt.Errorf("read directory %s: %w", path, err)
	}
	return v, t, nil
}
