package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
	temporalclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"golang.org/x/sync/errgroup"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/freeport"
	"github.com/flexauth/flexauth/internal/mailsink"
	"github.com/flexauth/flexauth/internal/outboxtail"
	"github.com/flexauth/flexauth/internal/pgtest"
	"github.com/flexauth/flexauth/internal/topology"
)

// Limits lifted for the load, which comes from one client address and
// one account: a real deployment has many of each. The per-user start
// limit is kept (the bench has users enough), and these are set high
// rather than off, so that their checks still cost what they cost.
const (
	appIPLimit       = "1000000/s,1000000"
	startsPerAccount = "100000000"
)

// stack is a running target: where to send requests, how to read the
// codes, and what to measure.
type stack struct {
	apis             []string // base URLs, alternated
	adminKey, appKey string
	mail             mailbox
	// components are the processes whose CPU is measured, by name.
	components []component
	// pgAdmin reads pg_stat_database; nil for dev.
	pgAdmin *sql.DB
	// pgDatabases labels the databases whose backends' CPU is told apart
	// (flexauth, temporal, temporal_visibility) by their names.
	pgDatabases map[string]string
	// pgSessions: pg_stat_database counts sessions (PostgreSQL 14+).
	pgSessions bool
	// flexauthDB maps attempts to workflow runs; nil for dev.
	flexauthDB *sql.DB
	temporal   temporalclient.Client // nil for dev
	// profiles are the CPU profile endpoints (pprof's /profile) by the
	// file their profile goes to; empty unless -profile.
	profiles map[string]string
	cleanups []func()
}

// component is a process tree whose CPU is measured.
type component struct {
	name string
	// pids are the roots of the trees (one per replica); a pid of 0 is
	// skipped.
	pids func() []int
	// memoryOfTree: its memory is that of the whole tree (PostgreSQL's
	// backends), not of the roots alone.
	memoryOfTree bool
}

// mailbox finds the code a sign-in's message carries.
type mailbox interface {
	// mark is taken before start, for code.
	mark(email string) int
	// received is the number of messages received, -1 when unknown.
	received() int
	code(ctx context.Context, email, attempt string, mark int) (string, error)
}

func (s *stack) close() {
	for _, f := range slices.Backward(s.cleanups) {
		f()
	}
}

// onClose has close call f, after what was registered later.
func (s *stack) onClose(f func()) { s.cleanups = append(s.cleanups, f) }

// startProduction starts the production topology: PostgreSQL, Temporal on
// it, the mail sink, migrate, the API and worker replicas, the account.
func startProduction(ctx context.Context, cfg config, dir string, logf func(string, ...any)) (*stack, error) {
	st := &stack{}
	began := time.Now()
	var cluster *pgtest.Cluster
	var err error
	if cfg.databaseURL != "" {
		cluster, err = pgtest.Connect(cfg.databaseURL)
	} else {
		cluster, err = pgtest.StartLocal()
	}
	if err != nil {
		return st, err
	}
	st.onClose(cluster.Stop)
	postgresPID, err := postmasterPID(ctx, cluster)
	if err != nil {
		logf("PostgreSQL's CPU is not measured: %v", err)
	}
	st.components = append(st.components, component{name: "postgres", pids: func() []int { return []int{postgresPID} }, memoryOfTree: true})

	var dsns [3]string // flexauth, temporal, temporal visibility
	st.pgDatabases = map[string]string{}
	for i, label := range []string{"flexauth", "temporal", "temporal_visibility"} {
		name, dsn, err := cluster.CreateDatabase()
		if err != nil {
			return st, err
		}
		st.onClose(func() { _ = cluster.DropDatabase(name) })
		dsns[i] = dsn
		st.pgDatabases[name] = label
	}
	if st.pgAdmin, err = openPostgres(ctx, cluster.AdminDSN()); err != nil {
		return st, err
	}
	st.onClose(func() { _ = st.pgAdmin.Close() })
	var version int
	if err := st.pgAdmin.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return st, fmt.Errorf("read the server version: %w", err)
	}
	if st.pgSessions = version >= 140000; !st.pgSessions {
		logf("PostgreSQL %d counts no sessions: new connections are not measured", version/10000)
	}
	logf("postgres ready (%v)", time.Since(began).Round(time.Millisecond))

	bin := filepath.Join(dir, "flexauth")
	if err := topology.BuildFlexauth(ctx, cfg.repo, bin); err != nil {
		return st, err
	}
	logf("flexauth built")

	tcfg := topology.TemporalConfig{DatabaseURL: dsns[1], VisibilityURL: dsns[2], LogPath: filepath.Join(dir, "temporal.log")}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o700); err != nil {
			return st, err
		}
		port, err := freeport.Port()
		if err != nil {
			return st, err
		}
		tcfg.PprofAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		st.profiles = map[string]string{filepath.Join(cfg.profileDir, "temporal.cpu.pprof"): "http://" + tcfg.PprofAddr + "/debug/pprof/profile"}
	}
	tp, err := topology.StartTemporal(ctx, tcfg)
	if err != nil {
		return st, err
	}
	st.onClose(func() { _ = tp.Kill() })
	st.components = append(st.components, component{name: "temporal", pids: func() []int { return []int{tp.PID()} }})
	logf("temporal answering at %s", tp.Addr)

	sink, err := mailsink.Start(dir)
	if err != nil {
		return st, err
	}
	st.onClose(func() { _ = sink.Close() })
	st.mail = smtpMailbox{sink}
	plugins, err := topology.WritePlugins(cfg.repo, dir, sink.Addr(), sink.CAFile())
	if err != nil {
		return st, err
	}

	composeDir := filepath.Join(dir, "compose")
	if err := os.Mkdir(composeDir, 0o700); err != nil {
		return st, err
	}
	p, err := topology.LoadCompose(ctx, cfg.repo, composeDir)
	if err != nil {
		return st, err
	}
	host := topology.Host{DatabaseURL: dsns[0], TemporalAddr: tp.Addr, PluginsConfig: plugins, Bin: bin, Dir: dir}
	migrate, err := topology.NewService(p, "migrate", 0, host)
	if err != nil {
		return st, err
	}
	if out, err := migrate.Run(ctx, nil); err != nil {
		return st, fmt.Errorf("migrate: %w\n%s", err, out)
	}
	var apis, workers []*topology.Service
	for i := range cfg.apiReplicas {
		s, err := topology.NewService(p, "api", i, host)
		if err != nil {
			return st, err
		}
		s.Env = append(s.Env, "FLEXAUTH_APP_IP_LIMIT="+appIPLimit)
		apis = append(apis, s)
		st.apis = append(st.apis, s.URL)
	}
	for i := range cfg.workerReplicas {
		s, err := topology.NewService(p, "worker", i, host)
		if err != nil {
			return st, err
		}
		s.Args = append(s.Args, "-starts-per-account", startsPerAccount)
		if cfg.workflowCache > 0 {
			s.Args = append(s.Args, "--workflow-cache", strconv.Itoa(cfg.workflowCache))
		}
		if cfg.profileDir != "" {
			s.Args = append(s.Args, "--pprof")
			st.profiles[filepath.Join(cfg.profileDir, fmt.Sprintf("worker-%d.cpu.pprof", i+1))] = strings.TrimSuffix(s.Health, "/readyz") + "/debug/pprof/profile"
		}
		workers = append(workers, s)
	}
	for _, s := range slices.Concat(apis, workers) {
		if err := s.Start(); err != nil {
			return st, err
		}
		st.onClose(func() { _ = s.Kill() })
	}
	for _, s := range slices.Concat(apis, workers) {
		if err := s.WaitHealthy(time.Minute); err != nil {
			return st, err
		}
	}
	pidsOf := func(ss []*topology.Service) func() []int {
		return func() []int {
			var out []int
			for _, s := range ss {
				out = append(out, s.PID())
			}
			return out
		}
	}
	st.components = append(st.components, component{name: "api", pids: pidsOf(apis)}, component{name: "worker", pids: pidsOf(workers)})
	logf("%d api and %d worker processes healthy", len(apis), len(workers))

	out, err := migrate.Run(ctx, []string{"account", "create", "--id", "bench", "--admin", "bench", "--admin-email", "bench@bench.example"})
	if err != nil {
		return st, fmt.Errorf("account create: %w\n%s", err, out)
	}
	m := regexp.MustCompile(`admin key\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		return st, fmt.Errorf("account create printed no admin key:\n%s", out)
	}
	st.adminKey = m[1]
	var key struct{ Key string }
	if err := st.admin(ctx, http.MethodPost, "/v1/admin/keys", map[string]any{"name": "bench", "scope": "app"}, &key); err != nil {
		return st, err
	}
	st.appKey = key.Key

	if st.flexauthDB, err = openPostgres(ctx, dsns[0]); err != nil {
		return st, err
	}
	st.onClose(func() { _ = st.flexauthDB.Close() })
	st.temporal, err = temporalclient.DialContext(ctx, temporalclient.Options{
		HostPort: tp.Addr, Namespace: "default",
		Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		return st, fmt.Errorf("connect to temporal: %w", err)
	}
	st.onClose(st.temporal.Close)
	return st, nil
}

// startDev starts `flexauth dev` in a folder of its own.
func startDev(ctx context.Context, cfg config, dir string, logf func(string, ...any)) (*stack, error) {
	st := &stack{}
	bin := filepath.Join(dir, "flexauth")
	if err := topology.BuildFlexauth(ctx, cfg.repo, bin); err != nil {
		return st, err
	}
	logf("flexauth built")
	port, err := freeport.Port()
	if err != nil {
		return st, err
	}
	data := filepath.Join(dir, "data")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	dev := &topology.Process{
		Name: "dev", Path: bin, LogPath: filepath.Join(dir, "dev.log"),
		Args: []string{"dev", "--data", data, "--addr", addr, "--starts-per-account", startsPerAccount},
		Env:  append(os.Environ(), "FLEXAUTH_APP_IP_LIMIT="+appIPLimit),
	}
	if err := dev.Start(); err != nil {
		return st, err
	}
	st.onClose(func() { _ = dev.Kill() })
	st.apis = []string{"http://" + addr}
	st.components = []component{{name: "dev", pids: func() []int { return []int{dev.PID()} }}}

	deadline := time.Now().Add(2 * time.Minute)
	for {
		if !dev.Running() {
			return st, fmt.Errorf("flexauth dev exited: %w (see %s)", dev.ExitError(), dev.LogPath)
		}
		if res, err := http.Get(st.apis[0] + "/readyz"); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return st, errors.New("flexauth dev not ready after 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	raw, err := os.ReadFile(filepath.Join(data, "dev-keys.json"))
	if err != nil {
		return st, fmt.Errorf("read dev keys: %w", err)
	}
	var keys struct {
		AppKey   string `json:"app_key"`
		AdminKey string `json:"admin_key"`
	}
	if err := json.Unmarshal(raw, &keys); err != nil {
		return st, fmt.Errorf("read dev keys: %w", err)
	}
	st.adminKey, st.appKey = keys.AdminKey, keys.AppKey
	st.mail = outboxMailbox{outboxtail.New(filepath.Join(data, "outbox.jsonl"))}
	logf("flexauth dev ready at %s", addr)
	return st, nil
}

// postmasterPID is the PostgreSQL server's main process: the one pgtest
// started, else the parent of this connection's backend (the server must
// run on this host).
func postmasterPID(ctx context.Context, c *pgtest.Cluster) (int, error) {
	if pid, ok, err := c.PostmasterPID(); ok || err != nil {
		return pid, err
	}
	db, err := openPostgres(ctx, c.AdminDSN())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var backend int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0, fmt.Errorf("find the postmaster: %w", err)
	}
	st, err := readStat(backend)
	if err != nil {
		return 0, fmt.Errorf("find the postmaster (is the server on this host?): %w", err)
	}
	return st.ppid, nil
}

func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return db, nil
}

// smtpMailbox reads codes from the mail sink: a user's messages arrive in
// order, and each user has one sign-in at a time.
type smtpMailbox struct{ sink *mailsink.Sink }

func (m smtpMailbox) mark(email string) int { return m.sink.Count(email) }

func (m smtpMailbox) received() int { return m.sink.Received() }

func (m smtpMailbox) code(ctx context.Context, email, _ string, mark int) (string, error) {
	msg, err := m.sink.Wait(ctx, email, mark)
	if err != nil {
		return "", err
	}
	code, ok := mailsink.PIN(msg.Text)
	if !ok {
		return "", errors.New("no code in the message")
	}
	return code, nil
}

// outboxMailbox reads codes from the dev outbox, by attempt.
type outboxMailbox struct{ outbox *outboxtail.Outbox }

func (outboxMailbox) mark(string) int { return 0 }

func (outboxMailbox) received() int { return -1 }

func (m outboxMailbox) code(ctx context.Context, _, attempt string, _ int) (string, error) {
	return m.outbox.Code(ctx, attempt)
}

// setUp creates the system and users: users named prefix-0 …
// prefix-(n-1) assigned method, through the admin API's CSV import. PIN
// users get an email address; TOTP users get none (nothing is delivered to
// them, and enrolling sends no notice then) and are enrolled by
// enrolTOTP.
func (s *stack) setUp(ctx context.Context, system string, ttl time.Duration, prefix string, n int, method string) error {
	if err := s.admin(ctx, http.MethodPost, "/v1/admin/systems", map[string]any{
		"name": system, "methods": []string{method}, "sensitivity": "low", "ttl_seconds": int(ttl.Seconds()),
	}, nil); err != nil {
		return err
	}
	const chunk = 5000
	for from := 0; from < n; from += chunk {
		var b strings.Builder
		b.WriteString("authid,name,email,systems\n")
		for i := from; i < min(n, from+chunk); i++ {
			authid := fmt.Sprintf("%s-%d", prefix, i)
			mail := email(authid)
			if method == methodTOTP {
				mail = ""
			}
			fmt.Fprintf(&b, "%s,%s,%s,%s:%s\n", authid, authid, mail, system, method)
		}
		if err := s.do(ctx, http.MethodPost, "/v1/admin/users/import?format=csv&apply=true", s.adminKey, "text/csv", []byte(b.String()), nil); err != nil {
			return fmt.Errorf("import users: %w", err)
		}
	}
	return nil
}

// enrolTOTP enrols users prefix-0 … prefix-(n-1) as an administrator does
// from the console, the fastest way the product offers (the import takes
// no seeds): the admin API draws a seed (POST /v1/admin/users/{authid}/totp,
// which answers it once) and activates it on a code computed from it
// (…/totp/verify). Two requests per user, conc at a time. It returns the
// seeds, by user, for signing in.
func (s *stack) enrolTOTP(ctx context.Context, prefix string, n, conc int, logf func(string, ...any)) ([]string, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conc, conc
	hc := &http.Client{Timeout: waitLimit, Transport: tr}
	defer tr.CloseIdleConnections()
	seeds := make([]string, n)
	var next, done atomic.Int64
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				seed, err := s.enrolOne(ctx, hc, fmt.Sprintf("%s-%d", prefix, i))
				if err != nil {
					errs <- err
					return
				}
				seeds[i] = seed
				if d := done.Add(1); d%10000 == 0 {
					logf("%d users enrolled in TOTP", d)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil { // the first
		return nil, err
	}
	return seeds, nil
}

func (s *stack) enrolOne(ctx context.Context, hc *http.Client, authid string) (string, error) {
	path := "/v1/admin/users/" + url.PathEscape(authid) + "/totp"
	var seed struct{ Secret string }
	if err := s.doWith(ctx, hc, http.MethodPost, path, s.adminKey, "application/json", []byte("{}"), &seed); err != nil {
		return "", fmt.Errorf("enrol %s: %w", authid, err)
	}
	code, err := attempt.TOTPCode(seed.Secret, time.Now())
	if err != nil {
		return "", fmt.Errorf("enrol %s: %w", authid, err)
	}
	raw, _ := json.Marshal(map[string]string{"code": code})
	if err := s.doWith(ctx, hc, http.MethodPost, path+"/verify", s.adminKey, "application/json", raw, nil); err != nil {
		return "", fmt.Errorf("enrol %s: %w", authid, err)
	}
	return seed.Secret, nil
}

func email(authid string) string { return authid + "@bench.example" }

// admin calls the admin API and decodes the answer into out (when not
// nil); any status but 2xx is an error.
func (s *stack) admin(ctx context.Context, method, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return s.do(ctx, method, path, s.adminKey, "application/json", raw, out)
}

func (s *stack) do(ctx context.Context, method, path, key, contentType string, body []byte, out any) error {
	return s.doWith(ctx, http.DefaultClient, method, path, key, contentType, body, out)
}

func (s *stack) doWith(ctx context.Context, hc *http.Client, method, path, key, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.apis[0]+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("apikey", key)
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// profile takes a CPU profile of each process in st.profiles over the next
// d (whole seconds, at least one) and returns a function that waits for
// them and reports the first that failed.
func (s *stack) profile(ctx context.Context, d time.Duration) func() error {
	if len(s.profiles) == 0 {
		return func() error { return nil }
	}
	seconds := max(1, int(d.Seconds()))
	var g errgroup.Group
	for file, endpoint := range s.profiles {
		g.Go(func() error {
			ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds)*time.Second+time.Minute)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s?seconds=%d", endpoint, seconds), nil)
			if err != nil {
				return err
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("profile %s: %w", filepath.Base(file), err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("profile %s: %s", filepath.Base(file), res.Status)
			}
			body, err := io.ReadAll(res.Body)
			if err != nil {
				return fmt.Errorf("profile %s: %w", filepath.Base(file), err)
			}
			return os.WriteFile(file, body, 0o600)
		})
	}
	return g.Wait
}
