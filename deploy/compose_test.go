// Package deploy_test checks the production topology (docker-compose.yml
// at the top of the repository) where no container engine runs: the file
// is loaded with compose-go, the parser Docker Compose itself uses, and
// validated against the compose specification; the flexauth services run
// commands and flags the binary has; the image versions match what the
// tests run.
package deploy_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/flexauth/flexauth/internal/topology"
	"github.com/flexauth/flexauth/plugins/host"
)

// postgresMajor is the PostgreSQL the tests run: Debian 12's, which
// scripts/test.sh installs for internal/pgtest.
const postgresMajor = "15"

// flexauthBinary is where the image puts flexauth (Dockerfile).
const flexauthBinary = "/usr/local/bin/flexauth"

// loadProject loads docker-compose.yml as `docker compose up` would, with
// a .env made from .env.example (the real one is never committed).
func loadProject(t *testing.T) *types.Project {
	t.Helper()
	p, err := topology.LoadCompose(context.Background(), "..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestComposeFile(t *testing.T) {
	p := loadProject(t)
	service := func(name string) types.ServiceConfig {
		t.Helper()
		s, err := p.GetService(name)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		return s
	}

	t.Run("api and worker run 2 replicas with health checks", func(t *testing.T) {
		for _, name := range []string{"api", "worker"} {
			s := service(name)
			if s.Deploy == nil || s.Deploy.Replicas == nil || *s.Deploy.Replicas != 2 {
				t.Errorf("%s: want deploy.replicas 2", name)
			}
			if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 {
				t.Errorf("%s: no health check", name)
			}
		}
		// Docker kills after stop_grace_period (10 s when unset): the
		// drain flexauth gets (shutdown grace plus the API's drain
		// delay) must end before it.
		for _, name := range []string{"api", "worker"} {
			s := service(name)
			drain := 10 * time.Second // --shutdown-grace's default
			for _, env := range []string{"FLEXAUTH_SHUTDOWN_GRACE", "FLEXAUTH_DRAIN_DELAY"} {
				if v := s.Environment[env]; v != nil {
					d, err := time.ParseDuration(*v)
					if err != nil {
						t.Errorf("%s %s=%q: %v", name, env, *v, err)
					}
					if env == "FLEXAUTH_SHUTDOWN_GRACE" {
						drain -= 10 * time.Second
					}
					drain += d
				}
			}
			if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= drain {
				t.Errorf("%s: stop_grace_period %v must exceed its drain of %v, or Docker kills it mid-drain", name, s.StopGracePeriod, drain)
			}
		}
		if got := service("worker").Environment["FLEXAUTH_HEALTH_ADDR"]; got == nil || *got != "0.0.0.0:8081" {
			t.Errorf("worker FLEXAUTH_HEALTH_ADDR = %v, want 0.0.0.0:8081", got)
		}
	})

	t.Run("migrate runs once", func(t *testing.T) {
		if s := service("migrate"); s.Restart != "no" {
			t.Errorf("migrate restart = %q, want \"no\"", s.Restart)
		}
	})

	t.Run("every dependency waits on a condition", func(t *testing.T) {
		for _, s := range p.Services {
			for dep, d := range s.DependsOn {
				switch d.Condition {
				case types.ServiceConditionHealthy:
					if hc := service(dep).HealthCheck; hc == nil || hc.Disable {
						t.Errorf("%s waits for %s to be healthy, which has no health check", s.Name, dep)
					}
				case types.ServiceConditionCompletedSuccessfully:
				default:
					t.Errorf("%s depends on %s with condition %q: want service_healthy or service_completed_successfully", s.Name, dep, d.Condition)
				}
			}
		}
	})

	t.Run("PostgreSQL is the major version the tests run", func(t *testing.T) {
		image := service("postgres").Image
		name, tag, _ := strings.Cut(image, ":")
		if major, _, _ := strings.Cut(tag, "."); name != "postgres" || major != postgresMajor {
			t.Errorf("postgres image %q, want postgres:%s", image, postgresMajor)
		}
		// Where the system's PostgreSQL is installed (as for the tests),
		// it is that version too.
		if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(dirs) == 1 {
			if installed := filepath.Base(filepath.Dir(filepath.Dir(dirs[0]))); installed != postgresMajor {
				t.Errorf("the tests run PostgreSQL %s, postgresMajor is %s", installed, postgresMajor)
			}
		}
	})

	t.Run("Temporal is the server version flexauth embeds", func(t *testing.T) {
		want := "v" + strings.TrimPrefix(goModVersion(t, "go.temporal.io/server"), "v")
		for _, name := range []string{"temporal"} {
			image := service(name).Image
			_, tag, _ := strings.Cut(image, ":")
			if "v"+tag != want {
				t.Errorf("%s image %q, want the tag %s (go.temporal.io/server in go.mod)", name, image, strings.TrimPrefix(want, "v"))
			}
		}
	})

	t.Run("Temporal runs the dynamic config of the embedded servers", func(t *testing.T) {
		s := service("temporal")
		path := s.Environment["DYNAMIC_CONFIG_FILE_PATH"]
		if path == nil {
			t.Fatal("temporal: no DYNAMIC_CONFIG_FILE_PATH")
		}
		// Sources are resolved against the project's folder.
		const want = "embedtemporal/dynamicconfig.yaml"
		if _, err := os.Stat("../" + want); err != nil {
			t.Fatal(err)
		}
		for _, v := range s.Volumes {
			if v.Target == *path {
				if rel, _ := filepath.Rel(p.WorkingDir, v.Source); rel != want || !v.ReadOnly {
					t.Errorf("temporal mounts %s read-only %v at %s, want ./%s read-only", v.Source, v.ReadOnly, *path, want)
				}
				return
			}
		}
		t.Errorf("temporal: nothing mounted at DYNAMIC_CONFIG_FILE_PATH %s", *path)
	})

	t.Run("Temporal runs with the GOGC of the benchmarked server", func(t *testing.T) {
		got := "unset"
		if v := service("temporal").Environment["GOGC"]; v != nil {
			got = *v
		}
		if got != topology.TemporalGOGC {
			t.Errorf("temporal: GOGC %s, want %s (internal/topology.TemporalGOGC, what bench/topology measured)", got, topology.TemporalGOGC)
		}
	})

	t.Run("the plugin configuration loads", func(t *testing.T) {
		if _, _, err := host.LoadConfig("plugins.json", flexauthBinary, host.Folder{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("flexauth services run commands and flags the binary has", func(t *testing.T) {
		bin := buildFlexauth(t)
		for _, s := range p.Services {
			if !strings.HasPrefix(s.Image, "flexauth") {
				continue
			}
			checkCommand(t, bin, s.Name, s.Command)
			if hc := s.HealthCheck; hc != nil && len(hc.Test) > 1 && hc.Test[0] == "CMD" {
				if hc.Test[1] != flexauthBinary {
					t.Errorf("%s health check runs %q: the image has only %s", s.Name, hc.Test[1], flexauthBinary)
					continue
				}
				checkCommand(t, bin, s.Name+" health check", hc.Test[2:])
			}
		}
		// The README's commands run in the image too.
		readme, err := os.ReadFile("../README.md")
		if err != nil {
			t.Fatal(err)
		}
		const run = "docker compose run --rm migrate "
		found := false
		for _, line := range strings.Split(string(readme), "\n") {
			if rest, ok := strings.CutPrefix(line, run); ok {
				found = true
				checkCommand(t, bin, "README: "+run+"...", strings.Fields(rest))
			}
		}
		if !found {
			t.Errorf("README.md has no %q line", run)
		}
	})
}

// checkCommand runs `flexauth COMMAND -h` and checks that every flag of
// args is in its usage.
func checkCommand(t *testing.T, bin, service string, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Errorf("%s: no command", service)
		return
	}
	// account, plugin and policy take a subcommand: "account create".
	words := 1
	if slices.Contains([]string{"account", "plugin", "policy"}, args[0]) && len(args) > 1 {
		words = 2
	}
	cmd := strings.Join(args[:words], " ")
	var out bytes.Buffer
	c := exec.Command(bin, append(slices.Clone(args[:words]), "-h")...)
	c.Stdout, c.Stderr = &out, &out
	_ = c.Run() // -h exits 2
	usage := out.String()
	if !strings.Contains(usage, "Usage of "+cmd+":") {
		t.Errorf("%s: flexauth has no command %q:\n%s", service, cmd, usage)
		return
	}
	for _, a := range args[words:] {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.ContainsFunc(strings.Split(usage, "\n"), func(line string) bool {
			f := strings.Fields(line)
			return len(f) > 0 && f[0] == "-"+name
		}) {
			t.Errorf("%s: flexauth %s has no flag -%s", service, cmd, name)
		}
	}
}

// buildFlexauth builds the binary the image runs.
func buildFlexauth(t *testing.T) string {
	t.Helper()
	return flexauthBin(t)
}

// goModVersion is the version of module in go.mod.
func goModVersion(t *testing.T, module string) string {
	t.Helper()
	raw, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == module {
			return f[1]
		}
	}
	t.Fatalf("go.mod has no %s", module)
	return ""
}
