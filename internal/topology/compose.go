package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/flexauth/flexauth/internal/freeport"
)

// LoadCompose loads repo's docker-compose.yml as `docker compose up` would,
// with a .env made in dir from .env.example (the real one is never
// committed) and a fixed master key.
func LoadCompose(ctx context.Context, repo, dir string) (*types.Project, error) {
	compose, err := os.ReadFile(filepath.Join(repo, "docker-compose.yml"))
	if err != nil {
		return nil, fmt.Errorf("load compose file: %w", err)
	}
	example, err := os.ReadFile(filepath.Join(repo, ".env.example"))
	if err != nil {
		return nil, fmt.Errorf("load compose file: %w", err)
	}
	env := strings.Replace(string(example), "FLEXAUTH_MASTER_KEY=\n", "FLEXAUTH_MASTER_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 1)
	for name, data := range map[string]string{"docker-compose.yml": string(compose), ".env": env} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			return nil, fmt.Errorf("load compose file: %w", err)
		}
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "docker-compose.yml")},
		cli.WithWorkingDirectory(dir), cli.WithEnvFiles(filepath.Join(dir, ".env")), cli.WithDotEnv)
	if err != nil {
		return nil, fmt.Errorf("load compose file: %w", err)
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("load docker-compose.yml: %w", err)
	}
	return p, nil
}

// Host is what a service name or a container port of the compose network
// means on this host: the only substitutions NewService makes.
type Host struct {
	DatabaseURL   string // flexauth's database, for postgres:5432/flexauth
	TemporalAddr  string // for temporal:7233
	PluginsConfig string // a worker's plugins.json (WritePlugins)
	Bin           string // the flexauth binary (BuildFlexauth)
	Dir           string // where the logs go
}

// allowedSubstitutions lists, per service, the environment variables a
// native run may change from the compose file.
var allowedSubstitutions = map[string][]string{
	"migrate": {"FLEXAUTH_DATABASE_URL", "FLEXAUTH_TEMPORAL_ADDRESS"},
	"api":     {"FLEXAUTH_DATABASE_URL", "FLEXAUTH_TEMPORAL_ADDRESS", "FLEXAUTH_ADDR"},
	"worker":  {"FLEXAUTH_DATABASE_URL", "FLEXAUTH_TEMPORAL_ADDRESS", "FLEXAUTH_HEALTH_ADDR", "FLEXAUTH_PLUGINS_CONFIG"},
}

// Service is one replica of a compose service as a process.
type Service struct {
	*Process
	// Probe is the compose health check's command line, run as compose
	// runs it.
	Probe []string
	// URL is an API replica's base URL; Health is a worker's /readyz.
	URL, Health string
}

// NewService makes replica i of the compose service name: its command and
// environment as compose gives them, with host's substitutions only. It
// fails when the compose file no longer has what a substitution replaces.
func NewService(p *types.Project, name string, i int, host Host) (*Service, error) {
	s, err := p.GetService(name)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	orig := maps.Clone(env)
	r := &Service{}
	// What a name or port means on the compose network, on this host.
	var errs []string
	mustBe := func(key, want string) {
		if env[key] != want {
			errs = append(errs, fmt.Sprintf("%s is %q in the compose file, the native run expects %q", key, env[key], want))
		}
	}
	u, err := url.Parse(env["FLEXAUTH_DATABASE_URL"])
	if err != nil || u.Host != "postgres:5432" || u.Path != "/flexauth" {
		errs = append(errs, "FLEXAUTH_DATABASE_URL is not postgres:5432/flexauth")
	}
	env["FLEXAUTH_DATABASE_URL"] = host.DatabaseURL
	mustBe("FLEXAUTH_TEMPORAL_ADDRESS", "temporal:7233")
	env["FLEXAUTH_TEMPORAL_ADDRESS"] = host.TemporalAddr
	// The health check probes the container port; here each replica has
	// its own port.
	free, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(free)
	var containerPort string
	switch name {
	case "api":
		mustBe("FLEXAUTH_ADDR", "0.0.0.0:8080")
		containerPort = "8080"
		env["FLEXAUTH_ADDR"] = "127.0.0.1:" + port
		r.URL = "http://127.0.0.1:" + port
	case "worker":
		mustBe("FLEXAUTH_HEALTH_ADDR", "0.0.0.0:8081")
		mustBe("FLEXAUTH_PLUGINS_CONFIG", "/etc/flexauth/plugins.json")
		containerPort = "8081"
		env["FLEXAUTH_HEALTH_ADDR"] = "127.0.0.1:" + port
		env["FLEXAUTH_PLUGINS_CONFIG"] = host.PluginsConfig
		r.Health = "http://127.0.0.1:" + port + "/readyz"
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", name, strings.Join(errs, "; "))
	}
	var changed []string
	for k, v := range env {
		if orig[k] != v {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	for _, k := range changed {
		if !slices.Contains(allowedSubstitutions[name], k) {
			return nil, fmt.Errorf("%s: the native run changed %s, which it must take from the compose file", name, k)
		}
	}
	if hc := s.HealthCheck; hc != nil && len(hc.Test) > 2 && hc.Test[0] == "CMD" {
		r.Probe = []string{host.Bin}
		for _, a := range hc.Test[2:] {
			r.Probe = append(r.Probe, strings.Replace(a, "127.0.0.1:"+containerPort, "127.0.0.1:"+port, 1))
		}
	}
	// A container has only its environment: the host's is not passed on,
	// but for PATH.
	procEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + host.Dir}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		procEnv = append(procEnv, k+"="+env[k])
	}
	r.Process = &Process{
		Name: fmt.Sprintf("%s-%d", name, i+1), Path: host.Bin, Args: slices.Clone(s.Command), Env: procEnv,
		LogPath: filepath.Join(host.Dir, fmt.Sprintf("%s-%d.log", name, i+1)),
	}
	return r, nil
}

// Run runs the service's command (or args instead, as `docker compose run
// SERVICE ARGS` does) to its end and returns its output.
func (s *Service) Run(ctx context.Context, args []string) (string, error) {
	if args == nil {
		args = s.Args
	}
	cmd := exec.CommandContext(ctx, s.Path, args...)
	cmd.Env = s.Env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// WaitHealthy runs the service's health check command until it succeeds,
// as compose does before starting what depends on it.
func (s *Service) WaitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if !s.Running() {
			return fmt.Errorf("%s exited: %w", s.Name, s.ExitError())
		}
		out, err := exec.Command(s.Probe[0], s.Probe[1:]...).CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %v: %w %s", s.Name, timeout, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WritePlugins writes repo's deploy/plugins.json into dir with the mail
// server's address and CA in place of Mailpit's, checks nothing else
// changes, and returns the path of the copy.
func WritePlugins(repo, dir, mailAddr, caFile string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(repo, "deploy", "plugins.json"))
	if err != nil {
		return "", fmt.Errorf("write plugins config: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", fmt.Errorf("write plugins config: %w", err)
	}
	plugins, _ := cfg["plugins"].([]any)
	if len(plugins) != 1 {
		return "", fmt.Errorf("plugins.json: want the one smtp plugin, got %v", plugins)
	}
	plugin, _ := plugins[0].(map[string]any)
	pc, _ := plugin["config"].(map[string]any)
	if pc["host"] != "mailpit" || pc["ca_file"] != "/certs/mailpit.pem" || pc["tls"] != "starttls" {
		return "", fmt.Errorf("plugins.json: the smtp plugin no longer sends to mailpit with STARTTLS and /certs/mailpit.pem: %v", pc)
	}
	host, port, err := net.SplitHostPort(mailAddr)
	if err != nil {
		return "", fmt.Errorf("write plugins config: %w", err)
	}
	pc["host"], pc["port"], pc["ca_file"] = host, port, caFile
	out, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("write plugins config: %w", err)
	}
	path := filepath.Join(dir, "plugins.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return "", fmt.Errorf("write plugins config: %w", err)
	}
	return path, nil
}

// BuildFlexauth builds repo's flexauth binary to out.
func BuildFlexauth(ctx context.Context, repo, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/flexauth")
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build flexauth: %w\n%s", err, b)
	}
	return nil
}
