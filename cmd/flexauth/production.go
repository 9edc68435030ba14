package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/worker"
)

func runAPI(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	var p productionFlags
	p.register(fs)
	addr := fs.String("addr", envOr("FLEXAUTH_ADDR", "127.0.0.1:8080"), "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys, err := p.keyring()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, p.database)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, err := dialTemporal(p.temporal, p.namespace, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	logger.Info("api listening", "addr", *addr)
	return serveHTTP(ctx, newHTTPServer(*addr, newAPI(st, tc, keys, p.publicURL, logger)))
}

func runWorker(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var p productionFlags
	p.register(fs)
	pluginDir := fs.String("plugins", envOr("FLEXAUTH_PLUGIN_DIR", ""), "folder of external plugin executables")
	outbox := fs.String("outbox", envOr("FLEXAUTH_OUTBOX", ""), "run the built-in outbox plugin, writing to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys, err := p.keyring()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, p.database)
	if err != nil {
		return err
	}
	defer st.Close()
	plugins, err := newPluginHost(logger, *pluginDir, *outbox)
	if err != nil {
		return err
	}
	defer plugins.Close()
	tc, err := dialTemporal(p.temporal, p.namespace, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	acts := newActivities(ctx, st, plugins, keys, p.publicURL, logger)
	w, err := worker.Start(tc, acts)
	if err != nil {
		return err
	}
	defer w.Stop()
	logger.Info("worker running", "temporal", p.temporal)
	<-ctx.Done()
	return nil
}

// newPluginHost launches the built-in outbox (when outboxPath is set) by
// re-executing this binary, plus every executable in pluginDir.
func newPluginHost(logger *slog.Logger, pluginDir, outboxPath string) (*host.Host, error) {
	var specs []host.Spec
	if outboxPath != "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable: %w", err)
		}
		specs = append(specs, host.Spec{
			Name:    "outbox",
			Command: []string{self, "plugin", "serve", "outbox"},
			Config:  map[string]string{"path": outboxPath},
		})
	}
	if pluginDir != "" {
		external, err := host.Discover(pluginDir)
		if err != nil {
			return nil, err
		}
		specs = append(specs, external...)
	}
	return host.New(logger, specs...)
}

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	database := fs.String("database", envOr("FLEXAUTH_DATABASE_URL", ""), "database URL or SQLite file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, *database)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}
