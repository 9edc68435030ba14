package pgtest

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/flexauth/flexauth/internal/freeport"
)

// binGlob is where Debian's postgresql packages install initdb and pg_ctl.
const binGlob = "/usr/lib/postgresql/*/bin"

// superuser is the role initdb creates; trust authentication needs no
// password.
const superuser = "postgres"

// localCluster is a cluster this package made in its own folder.
type localCluster struct {
	dir      string // removed by stop; holds data/, the socket and the log
	pgCtl    string
	port     int
	runAs    []string  // command prefix that runs a program as the owner of dir
	watchdog *exec.Cmd // cleans up if this process dies without stop
}

func (l *localCluster) dataDir() string { return filepath.Join(l.dir, "data") }
func (l *localCluster) logFile() string { return filepath.Join(l.dir, "postgres.log") }

func (l *localCluster) dsn() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", superuser, l.port)
}

// startLocal runs initdb and pg_ctl start. PostgreSQL refuses to run as
// root, so as root both run as the postgres user, in a folder it owns.
func startLocal() (*localCluster, error) {
	binDir, err := findBinDir(binGlob)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "flexauth-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("create folder: %w", err)
	}
	l := &localCluster{dir: dir, pgCtl: filepath.Join(binDir, "pg_ctl")}
	if err := l.start(filepath.Join(binDir, "initdb")); err != nil {
		l.stop()
		return nil, err
	}
	return l, nil
}

func (l *localCluster) start(initdb string) error {
	if os.Geteuid() == 0 {
		if err := chownToUser(l.dir, superuser); err != nil {
			return err
		}
		l.runAs = []string{"runuser", "-u", superuser, "--"}
	}
	if out, err := l.run(initdb, "-D", l.dataDir(), "-U", superuser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}

	// The port was free a moment ago; another process may take it before
	// postgres binds it, so try a few.
	var err error
	for range 3 {
		if err = l.startServer(); err == nil {
			return l.startWatchdog()
		}
	}
	return err
}

func (l *localCluster) startServer() error {
	port, err := freeport.Port()
	if err != nil {
		return err
	}
	l.port = port
	settings := fmt.Sprintf(`
# pgtest: a throw-away cluster, local only, speed over durability
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
fsync = off
synchronous_commit = off
full_page_writes = off
`, port, l.dir)
	// postgresql.auto.conf overrides postgresql.conf and is rewritten at
	// each attempt.
	if err := os.WriteFile(filepath.Join(l.dataDir(), "postgresql.auto.conf"), []byte(settings), 0o600); err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	if os.Geteuid() == 0 {
		if err := chownToUser(filepath.Join(l.dataDir(), "postgresql.auto.conf"), superuser); err != nil {
			return err
		}
	}
	cmd := l.run(l.pgCtl, "start", "-D", l.dataDir(), "-l", l.logFile(), "-w", "-t", "60")
	// Its own process group: a Ctrl-C meant for the test binary must not
	// reach postgres before the watchdog can clean up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(l.logFile())
		return fmt.Errorf("pg_ctl start on port %d: %w: %s\n%s", port, err, strings.TrimSpace(string(out)), lastLines(string(log), 10))
	}
	return nil
}

// startWatchdog starts a shell that waits for this process to end and then
// kills postgres (SIGQUIT: immediate shutdown) and removes the folder, so a
// test binary that panics or is killed leaves nothing behind. stop ends the
// watchdog first.
func (l *localCluster) startWatchdog() error {
	pid, err := l.postmasterPID()
	if err != nil {
		return err
	}
	const script = `while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -QUIT "$2" 2>/dev/null; sleep 2; rm -rf "$3"`
	cmd := exec.Command("sh", "-c", script, "pgtest-watchdog", strconv.Itoa(os.Getpid()), strconv.Itoa(pid), l.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start watchdog: %w", err)
	}
	l.watchdog = cmd
	return nil
}

func (l *localCluster) postmasterPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(l.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("read postmaster pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("read postmaster pid: %w", err)
	}
	return pid, nil
}

// stop stops postgres at once and removes the folder.
func (l *localCluster) stop() {
	if l.watchdog != nil {
		_ = l.watchdog.Process.Kill()
		_ = l.watchdog.Wait()
	}
	if _, err := os.Stat(filepath.Join(l.dataDir(), "postmaster.pid")); err == nil {
		_ = l.run(l.pgCtl, "stop", "-D", l.dataDir(), "-m", "immediate", "-w").Run()
	}
	_ = os.RemoveAll(l.dir)
}

// run prepares name with args, as the folder's owner when running as root.
func (l *localCluster) run(name string, args ...string) *exec.Cmd {
	argv := append(slices.Clone(l.runAs), name)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = l.dir
	return cmd
}

// findBinDir returns the folder holding initdb and pg_ctl: the one of initdb
// in PATH, else the newest of glob.
func findBinDir(glob string) (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(initdb)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(glob) // the only error is a bad pattern
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	for _, dir := range slices.Backward(dirs) {
		_, errInit := os.Stat(filepath.Join(dir, "initdb"))
		_, errCtl := os.Stat(filepath.Join(dir, "pg_ctl"))
		if errInit == nil && errCtl == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("initdb and pg_ctl not found in PATH or %s: install PostgreSQL (apt-get install -y postgresql) or set %s", glob, DatabaseURLEnv)
}

func chownToUser(path, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("find user %s to run postgres as (it refuses root): %w", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("give %s to user %s: %w", path, name, err)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// compareVersions orders dotted version numbers ("9.6" < "15"); parts that
// are not numbers count as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}
