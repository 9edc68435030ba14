package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/flexauth/flexauth/internal/pgtest"
	"github.com/flexauth/flexauth/internal/topology"
)

// cluster is the PostgreSQL server of this test binary: flexauth's
// database and Temporal's two come from it.
var cluster *pgtest.Cluster

// builtBinary is the flexauth binary, built once per test binary.
var builtBinary struct {
	once sync.Once
	path string
	err  error
	dir  string
}

func TestMain(m *testing.M) {
	// The Temporal server of the native topology is this test binary
	// started again (topology.StartTemporal).
	topology.RunTemporalChild()
	dir, err := os.MkdirTemp("", "flexauth-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builtBinary.dir = dir
	code := pgtest.Main(m, &cluster)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// native is docker-compose.yml run as processes on this host: PostgreSQL
// (a throw-away database per service database), Temporal on it, flexauth's
// migrate, api and worker services with their replicas, and an SMTP server
// standing in for Mailpit.
type native struct {
	t        *testing.T
	bin      string
	dir      string
	temporal *topology.Temporal
	mail     *mailSink
	apis     []*service
	workers  []*service
	migrate  *service
	// adminKey and appKey are the first account's.
	adminKey, appKey string
	// account is the README's first account.
	account string
}

// service is one replica of a compose service as a process.
type service struct {
	*topology.Process
	// probe is the compose health check's command line, run as compose
	// runs it.
	probe []string
	// url is an API replica's base URL; health is a worker's /readyz.
	url, health string
}

// composeHost are the substitutions a single host needs, and only those:
// what a service name or a container port means on a compose network.
type composeHost struct {
	databaseURL, temporalAddr, pluginsConfig string
}

// allowedSubstitutions lists, per service, the environment variables the
// native run may change from the compose file.
var allowedSubstitutions = map[string][]string{
	"migrate": {"FLEXAUTH_DATABASE_URL", "FLEXAUTH_TEMPORAL_ADDRESS"},
	"api":     {"FLEXAUTH_DATABASE_URL", "FLEXAUTH_TEMPORAL_ADDRESS", "FLEXAUTH_ADDR"},
	"worker":  {"FLEXAUTH_DATABASE_URL", "FLEXAUTH_TEMPORAL_ADDRESS", "FLEXAUTH_HEALTH_ADDR", "FLEXAUTH_PLUGINS_CONFIG"},
}

// startNative runs the topology and the README's first steps (migrations,
// first account); it is torn down when t ends.
func startNative(t *testing.T) *native {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := loadProject(t)
	n := &native{t: t, bin: flexauthBin(t), dir: t.TempDir()}

	// PostgreSQL: compose's postgres service holds flexauth's database and
	// Temporal's two.
	flexauthDB := cluster.NewDatabase(t)
	temporalDB, visibilityDB := cluster.NewDatabase(t), cluster.NewDatabase(t)
	began := time.Now()
	tp, err := topology.StartTemporal(ctx, topology.TemporalConfig{
		DatabaseURL: temporalDB, VisibilityURL: visibilityDB, LogPath: filepath.Join(n.dir, "temporal.log"),
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(filepath.Join(n.dir, "temporal.log")))
	}
	n.temporal = tp
	t.Cleanup(func() { _ = tp.Kill() })
	t.Logf("temporal on PostgreSQL answering at %s after %v", tp.Addr, time.Since(began).Round(time.Millisecond))

	n.mail = newMailSink(t)
	host := composeHost{databaseURL: flexauthDB, temporalAddr: tp.Addr, pluginsConfig: n.writePlugins()}

	// migrate: depends_on postgres healthy; runs once, must succeed.
	n.migrate = n.newService(p, "migrate", 0, host)
	if out, err := n.run(n.migrate, nil); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	// api and worker: after migrate completed and Temporal is healthy.
	for _, name := range []string{"api", "worker"} {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range int(*s.Deploy.Replicas) {
			r := n.newService(p, name, i, host)
			if name == "api" {
				n.apis = append(n.apis, r)
			} else {
				n.workers = append(n.workers, r)
			}
			n.startService(r)
		}
	}
	for _, r := range slices.Concat(n.apis, n.workers) {
		n.waitHealthy(r, time.Minute)
	}

	// The README's first account (`docker compose run --rm migrate account
	// create ...`): its admin key creates the app key.
	n.account = "acme"
	out, err := n.run(n.migrate, readmeAccountCreate(t))
	if err != nil {
		t.Fatalf("account create: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`admin key\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("account create printed no admin key:\n%s", out)
	}
	n.adminKey = m[1]
	key := n.admin(http.MethodPost, "/v1/admin/keys", map[string]any{"name": "load", "scope": "app"}, http.StatusCreated)
	n.appKey, _ = key["key"].(string)
	if n.appKey == "" {
		t.Fatalf("no app key in %v", key)
	}
	n.admin(http.MethodPost, "/v1/admin/systems", map[string]any{
		"name": "shop", "methods": []string{"passwordless", "pin"}, "sensitivity": "low", "ttl_seconds": 300,
	}, http.StatusCreated)
	return n
}

// readmeAccountCreate is the README's `docker compose run --rm migrate
// account create ...` command's arguments.
func readmeAccountCreate(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(readme), "\n") {
		if rest, ok := strings.CutPrefix(line, "docker compose run --rm migrate account create "); ok {
			return append([]string{"account", "create"}, strings.Fields(rest)...)
		}
	}
	t.Fatal("README.md has no `docker compose run --rm migrate account create` line")
	return nil
}

// writePlugins writes deploy/plugins.json with the SMTP server's address
// and CA in place of Mailpit's, and checks nothing else changes.
func (n *native) writePlugins() string {
	t := n.t
	raw, err := os.ReadFile("plugins.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	plugins, _ := cfg["plugins"].([]any)
	if len(plugins) != 1 {
		t.Fatalf("plugins.json: want the one smtp plugin, got %v", plugins)
	}
	pc := plugins[0].(map[string]any)["config"].(map[string]any)
	if pc["host"] != "mailpit" || pc["ca_file"] != "/certs/mailpit.pem" || pc["tls"] != "starttls" {
		t.Fatalf("plugins.json: the smtp plugin no longer sends to mailpit with STARTTLS and /certs/mailpit.pem: %v", pc)
	}
	host, port, _ := net.SplitHostPort(n.mail.addr)
	pc["host"], pc["port"], pc["ca_file"] = host, port, n.mail.caFile
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(n.dir, "plugins.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newService makes replica i of the compose service name: its command and
// environment as compose gives them, with host's substitutions only.
func (n *native) newService(p *types.Project, name string, i int, host composeHost) *service {
	t := n.t
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	orig := maps.Clone(env)
	r := &service{}
	// What a name or port means on the compose network, on this host.
	mustBe := func(key, want string) {
		if env[key] != want {
			t.Fatalf("%s: %s is %q in the compose file, the native run expects %q", name, key, env[key], want)
		}
	}
	u, err := url.Parse(env["FLEXAUTH_DATABASE_URL"])
	if err != nil || u.Host != "postgres:5432" || u.Path != "/flexauth" {
		t.Fatalf("%s: FLEXAUTH_DATABASE_URL is not postgres:5432/flexauth", name)
	}
	env["FLEXAUTH_DATABASE_URL"] = host.databaseURL
	mustBe("FLEXAUTH_TEMPORAL_ADDRESS", "temporal:7233")
	env["FLEXAUTH_TEMPORAL_ADDRESS"] = host.temporalAddr
	// The health check probes the container port; here each replica has
	// its own port.
	port := freePort(t)
	var containerPort string
	switch name {
	case "api":
		mustBe("FLEXAUTH_ADDR", "0.0.0.0:8080")
		containerPort = "8080"
		env["FLEXAUTH_ADDR"] = "127.0.0.1:" + port
		r.url = "http://127.0.0.1:" + port
	case "worker":
		mustBe("FLEXAUTH_HEALTH_ADDR", "0.0.0.0:8081")
		mustBe("FLEXAUTH_PLUGINS_CONFIG", "/etc/flexauth/plugins.json")
		containerPort = "8081"
		env["FLEXAUTH_HEALTH_ADDR"] = "127.0.0.1:" + port
		env["FLEXAUTH_PLUGINS_CONFIG"] = host.pluginsConfig
		r.health = "http://127.0.0.1:" + port + "/readyz"
	}
	var changed []string
	for k, v := range env {
		if orig[k] != v {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	allowed := allowedSubstitutions[name]
	for _, k := range changed {
		if !slices.Contains(allowed, k) {
			t.Fatalf("%s: the native run changed %s, which it must take from the compose file", name, k)
		}
	}
	if hc := s.HealthCheck; hc != nil && len(hc.Test) > 2 && hc.Test[0] == "CMD" {
		r.probe = []string{n.bin}
		for _, a := range hc.Test[2:] {
			r.probe = append(r.probe, strings.Replace(a, "127.0.0.1:"+containerPort, "127.0.0.1:"+port, 1))
		}
	}
	// A container has only its environment: the host's is not passed on,
	// but for PATH.
	procEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + n.dir}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		procEnv = append(procEnv, k+"="+env[k])
	}
	r.Process = &topology.Process{
		Name: fmt.Sprintf("%s-%d", name, i+1), Path: n.bin, Args: s.Command, Env: procEnv,
		LogPath: filepath.Join(n.dir, fmt.Sprintf("%s-%d.log", name, i+1)),
	}
	t.Cleanup(func() { _ = r.Kill() })
	return r
}

// run runs the service's command (or args instead, as `docker compose run
// SERVICE ARGS` does) to its end and returns its output.
func (n *native) run(s *service, args []string) (string, error) {
	if args == nil {
		args = s.Args
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Path, args...)
	cmd.Env = s.Env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (n *native) startService(s *service) {
	n.t.Helper()
	if err := s.Start(); err != nil {
		n.t.Fatal(err)
	}
}

// waitHealthy runs the service's health check command until it succeeds,
// as compose does before starting what depends on it.
func (n *native) waitHealthy(s *service, timeout time.Duration) {
	n.t.Helper()
	if err := waitHealthy(s, timeout); err != nil {
		n.t.Fatalf("%v\n%s", err, tail(s.LogPath))
	}
}

func waitHealthy(s *service, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if !s.Running() {
			return fmt.Errorf("%s exited: %v", s.Name, s.ExitError())
		}
		out, err := exec.Command(s.probe[0], s.probe[1:]...).CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %v: %v %s", s.Name, timeout, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// admin calls the admin API on the first API replica and expects want.
func (n *native) admin(method, path string, body any, want int) map[string]any {
	n.t.Helper()
	raw, _ := json.Marshal(body)
	for i := 0; ; i++ {
		api := n.apis[i%len(n.apis)]
		req, _ := http.NewRequest(method, api.url+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("apikey", n.adminKey)
		res, err := httpClient.Do(req)
		if err != nil && i < 20 {
			time.Sleep(100 * time.Millisecond)
			continue // a replica that is down: the other one
		}
		if err != nil {
			n.t.Fatalf("%s %s: %v", method, path, err)
		}
		out, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != want {
			n.t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, out, want)
		}
		got := map[string]any{}
		_ = json.Unmarshal(out, &got)
		return got
	}
}

// addUser creates a user of the shop system signing in with method.
func (n *native) addUser(authid, method string) {
	n.admin(http.MethodPost, "/v1/admin/users", map[string]any{
		"authid": authid, "name": "User " + authid, "email": authid + "@example.com",
	}, http.StatusCreated)
	n.admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", map[string]any{
		"assignments": []map[string]any{{"system": "shop", "method": method}},
	}, http.StatusOK)
}

// httpClient bounds every request: the API bounds each call to Temporal
// at 15 s and then answers 503, so an answer that does not come in 20 s
// is a hang.
var httpClient = &http.Client{Timeout: 20 * time.Second}

// flexauthBin builds the flexauth binary once per test binary.
func flexauthBin(t *testing.T) string {
	t.Helper()
	b := &builtBinary
	b.once.Do(func() {
		b.path = filepath.Join(b.dir, "flexauth")
		out, err := exec.Command("go", "build", "-o", b.path, "../cmd/flexauth").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("build flexauth: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func freePort(t *testing.T) string {
	t.Helper()
	p, err := topology.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(p)
}

// tail is the end of a log file, for failure messages.
func tail(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(raw) > 4000 {
		raw = raw[len(raw)-4000:]
	}
	return string(raw)
}
