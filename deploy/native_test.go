package deploy_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/uptrace/bun/driver/pgdriver"

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
	host     topology.Host
	// adminKey and appKey are the first account's.
	adminKey, appKey string
	// account is the README's first account.
	account string
}

// service is one replica of a compose service as a process.
type service = topology.Service

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
	wantVisibilityIndexes(t, visibilityDB)

	n.mail = newMailSink(t)
	plugins, err := topology.WritePlugins("..", n.dir, n.mail.Addr(), n.mail.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	n.host = topology.Host{DatabaseURL: flexauthDB, TemporalAddr: tp.Addr, PluginsConfig: plugins, Bin: n.bin, Dir: n.dir}

	// migrate: depends_on postgres healthy; runs once, must succeed.
	n.migrate = n.newService(p, "migrate", 0)
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
			r := n.newService(p, name, i)
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

// newService makes replica i of the compose service name (see
// topology.NewService), killed when the test ends.
func (n *native) newService(p *types.Project, name string, i int) *service {
	n.t.Helper()
	r, err := topology.NewService(p, name, i, n.host)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { _ = r.Kill() })
	return r
}

// run runs the service's command (or args instead, as `docker compose run
// SERVICE ARGS` does) to its end and returns its output.
func (n *native) run(s *service, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.Run(ctx, args)
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
	if err := s.WaitHealthy(timeout); err != nil {
		n.t.Fatalf("%v\n%s", err, tail(s.LogPath))
	}
}

// admin calls the admin API on the first API replica and expects want.
func (n *native) admin(method, path string, body any, want int) map[string]any {
	n.t.Helper()
	raw, _ := json.Marshal(body)
	for i := 0; ; i++ {
		api := n.apis[i%len(n.apis)]
		req, _ := http.NewRequest(method, api.URL+path, bytes.NewReader(raw))
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
		b.err = topology.BuildFlexauth(context.Background(), "..", b.path)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
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

// wantVisibilityIndexes checks that Temporal's visibility table kept only
// the indexes of the lists (embedtemporal/visibility-indexes.sql, which
// compose's temporal-visibility-indexes service applies too).
func wantVisibilityIndexes(t *testing.T, dsn string) {
	t.Helper()
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT indexname FROM pg_indexes WHERE tablename = 'executions_visibility' ORDER BY indexname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"by_execution_time", "by_status", "by_task_queue", "by_workflow_id", "by_workflow_type", "default_idx", "executions_visibility_pkey"}
	if !slices.Equal(names, want) {
		t.Errorf("executions_visibility's indexes = %v, want %v", names, want)
	}
}
