package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/embedtemporal"
	"github.com/flexauth/flexauth/internal/fileperm"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/worker"
)

// devKeys is what `flexauth dev` writes to <data>/dev-keys.json on first start.
type devKeys struct {
	Account  string `json:"account"`
	AppKey   string `json:"app_key"`
	AdminKey string `json:"admin_key"`
}

// runDev runs the whole engine in one process: an embedded Temporal server
// persisted to SQLite, the store on SQLite, the worker with the outbox
// plugin, and the API. Everything lives in the data folder, so a restart
// (even after kill -9) carries on where it stopped.
func runDev(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address of the API")
	data := fs.String("data", "./data", "data folder (databases, keys, outbox)")
	publicURL := fs.String("public-url", "", "base URL of links (default http://ADDR)")
	temporalAddr := fs.String("temporal-addr", "", "embedded Temporal frontend host:port (default: a free port)")
	var pf pluginFlags
	pf.registerLimits(fs)
	var edge edgeFlags
	edge.register(fs)
	var pr policyReviewFlags
	pr.register(fs)
	otlp := registerOTLPFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := pf.checkLimits(); err != nil {
		return err
	}
	review, err := pr.config()
	if err != nil {
		return err
	}
	if *publicURL == "" {
		*publicURL = "http://" + *addr
	}
	// The console's sign-in page shows the dev outbox: no mail server needed.
	// The listen address is the bound one, known below.
	apiCfg := api.Config{PublicURL: *publicURL, Logger: logger}
	if err := edge.apply(&apiCfg); err != nil {
		return err
	}
	dir, err := filepath.Abs(*data)
	if err != nil {
		return fmt.Errorf("resolve data folder: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	// The folder holds the master key, keys and users' data: its owner's
	// only, whatever made it (mkdir with a umask of 022 gives 0755).
	if was, changed, err := fileperm.Tighten(dir); err != nil {
		return fmt.Errorf("data folder: %w", err)
	} else if changed {
		logger.Warn("data folder was open to other users: restricted it to its owner", "path", dir, "was", fmt.Sprintf("%04o", was), "now", fmt.Sprintf("%04o", was&^fileperm.GroupOrOther))
	}
	// Bind the API first: a taken port should fail before anything starts.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		logger.Warn("flexauth dev is reachable from other machines: it is for one person on one machine (plain HTTP, keys printed, embedded defaults); the dev outbox is served to this machine only", "addr", ln.Addr().String())
	}

	master, err := secret.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		return err
	}
	keys, err := newKeyring(master)
	if err != nil {
		return err
	}
	tr, flushTraces, err := startTracing(ctx, "flexauth-dev", *otlp, logger)
	if err != nil {
		return err
	}
	defer flushTraces()
	apiCfg.Tracing = tr.API()
	st, err := openStore(ctx, filepath.Join(dir, "flexauth.db"), tr.Store()...)
	if err != nil {
		return err
	}
	defer st.Close()
	dk, created, err := devAccount(ctx, st, filepath.Join(dir, "dev-keys.json"))
	if err != nil {
		return err
	}
	if err := devConsole(ctx, st, dk.Account); err != nil {
		return err
	}

	ts, err := embedtemporal.Start(ctx, embedtemporal.Config{
		DatabasePath: filepath.Join(dir, "temporal.db"),
		Addr:         *temporalAddr,
		Namespace:    "default",
		Logger:       logger.With("component", "temporal"),
	})
	if err != nil {
		return fmt.Errorf("start embedded temporal: %w", err)
	}
	defer ts.Stop()
	// One registry for the one process: the API's, the activities' and
	// the Temporal SDK's metrics on the API's /metrics.
	reg := newMetricsRegistry()
	sdkMetrics, err := temporalMetrics(reg, logger)
	if err != nil {
		return err
	}
	traceTemporal, err := tr.Temporal()
	if err != nil {
		return err
	}
	tc, err := dialTemporal(ts.HostPort(), ts.Namespace(), keys, sdkMetrics, logger, traceTemporal)
	if err != nil {
		return err
	}
	defer tc.Close()

	// External plugins: executables dropped into <data>/plugins; an
	// operator's configuration in <data>/plugins.json when there is one.
	pf.dir, pf.outbox = filepath.Join(dir, "plugins"), filepath.Join(dir, "outbox.jsonl")
	if err := os.MkdirAll(pf.dir, 0o700); err != nil {
		return fmt.Errorf("create plugin folder: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "plugins.json")); err == nil {
		pf.config = filepath.Join(dir, "plugins.json")
	}
	plugins, actsCfg, err := pf.host(logger, activities.Config{PublicURL: *publicURL}, tr.Plugins())
	if err != nil {
		return err
	}
	defer plugins.Close()
	actsCfg.Metrics = reg
	acts := newActivities(ctx, st, plugins, keys, actsCfg, logger)
	w, err := worker.Start(tc, acts, worker.Options{StopTimeout: defaultShutdownGrace, CacheSize: pf.workflowCache})
	if err != nil {
		return err
	}
	defer w.Stop()

	printBanner(stdout, *publicURL, dir, ts.HostPort(), dk, created)
	// The console's sign-in page shows the dev outbox: no mail server needed.
	apiCfg.DevOutbox = pf.outbox
	apiCfg.PolicyReview = review
	apiCfg.PluginsReady = plugins.Ready
	apiCfg.Metrics = reg
	// With port 0 in --addr, the one the system chose.
	apiCfg.ListenAddr = ln.Addr().String()
	a := newAPI(st, tc, keys, apiCfg)
	srv := newHTTPServer(*addr, a.Handler())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// Console sign-ins answered but not yet started reach Temporal before
	// it stops.
	return errors.Join(srv.Shutdown(shutdownCtx), a.Shutdown(shutdownCtx))
}

// Dev console administrator.
// devConsoleAdmin is the dev account's first console administrator.
const devConsoleAdmin = "admin"

// devConsole makes sure the dev account has its console system and an
// administrator "admin" signing in with a link (read from the dev outbox).
// It runs at every start, so a data folder from before the console gets
// them too.
func devConsole(ctx context.Context, st *store.Store, account string) error {
	return admin.NewAccounts(st, nil).EnsureConsole(ctx, account, &admin.ConsoleAdmin{
		AuthID: devConsoleAdmin, Email: "admin@localhost", Name: "Console administrator", Method: "passwordless",
	}, "flexauth dev")
}

// devAccount returns the dev account's keys, creating the account and keys
// on first start. The key file is the only place the keys exist in clear.
func devAccount(ctx context.Context, st *store.Store, path string) (devKeys, bool, error) {
	var dk devKeys
	raw, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(raw, &dk); err != nil {
			return devKeys{}, false, fmt.Errorf("read %s: %w", path, err)
		}
		if _, err := st.GetAccount(ctx, dk.Account); err != nil {
			return devKeys{}, false, fmt.Errorf("%s names account %q: %w (remove the data folder to start afresh)", path, dk.Account, err)
		}
		return dk, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return devKeys{}, false, fmt.Errorf("read %s: %w", path, err)
	}

	dk.Account = "dev"
	keys, err := admin.NewAccounts(st, nil).Create(ctx, admin.NewAccount{
		ID: dk.Account, Name: "Development", Actor: "flexauth dev", ReuseExisting: true,
		Keys: []admin.NewKey{{Name: "dev app key", Scope: store.ScopeApp}, {Name: "dev admin key", Scope: store.ScopeAdmin}},
	})
	if err != nil {
		return devKeys{}, false, err
	}
	dk.AppKey, dk.AdminKey = keys[0], keys[1]
	out, err := json.MarshalIndent(dk, "", "  ")
	if err != nil {
		return devKeys{}, false, err
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o600); err != nil {
		return devKeys{}, false, fmt.Errorf("write %s: %w", path, err)
	}
	return dk, true, nil
}

func printBanner(w io.Writer, url, dir, temporal string, dk devKeys, created bool) {
	state := "using the dev account in"
	if created {
		state = "created a dev account; keys saved to"
	}
	fmt.Fprintf(w, `
flexauth dev is running
  API        %s   (OpenAPI: %s/openapi.json)
  Temporal   %s   (embedded, namespace default)
  data       %s
  %s %s

  account    %s
  app key    %s
  admin key  %s

  messages (links, PINs) are appended to %s
  try:  curl -s -H 'apikey: %s' %s/v1/admin/systems

  Console: %s/console/ — sign in as account %s, user %s; open the link from the
           console's dev outbox in the same browser and confirm: that browser is signed in

`, url, url, temporal, dir, state, filepath.Join(dir, "dev-keys.json"), dk.Account, dk.AppKey, dk.AdminKey,
		filepath.Join(dir, "outbox.jsonl"), dk.AdminKey, url, url, dk.Account, devConsoleAdmin)
}
