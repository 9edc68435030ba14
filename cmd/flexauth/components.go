package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// productionFlags are shared by `api` and `worker`.
type productionFlags struct {
	database  string
	temporal  string
	namespace string
	masterKey string
	publicURL string
}

func (p *productionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.database, "database", envOr("FLEXAUTH_DATABASE_URL", ""), "PostgreSQL URL (env FLEXAUTH_DATABASE_URL)")
	fs.StringVar(&p.temporal, "temporal", envOr("FLEXAUTH_TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env FLEXAUTH_TEMPORAL_ADDRESS)")
	fs.StringVar(&p.namespace, "namespace", envOr("FLEXAUTH_TEMPORAL_NAMESPACE", "default"), "Temporal namespace")
	fs.StringVar(&p.publicURL, "public-url", envOr("FLEXAUTH_PUBLIC_URL", ""), "base URL of links sent to users (env FLEXAUTH_PUBLIC_URL)")
}

func (p *productionFlags) keyring() (*secret.Keyring, error) {
	raw := os.Getenv("FLEXAUTH_MASTER_KEY")
	if raw == "" {
		return nil, errors.New("FLEXAUTH_MASTER_KEY is not set (32 random bytes, base64)")
	}
	key, err := secret.ParseMasterKey(raw)
	if err != nil {
		return nil, fmt.Errorf("FLEXAUTH_MASTER_KEY: %w", err)
	}
	return secret.New(key)
}

func openStore(ctx context.Context, dsn string) (*store.Store, error) {
	if dsn == "" {
		return nil, errors.New("no database: pass --database or set FLEXAUTH_DATABASE_URL")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func dialTemporal(hostPort, namespace string, logger *slog.Logger) (client.Client, error) {
	c, err := client.Dial(client.Options{
		HostPort:  hostPort,
		Namespace: namespace,
		// Temporal's own chatter stays at warn; flexauth logs what matters.
		Logger: tlog.NewStructuredLogger(slog.New(levelFilter{logger.Handler(), slog.LevelWarn})),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", hostPort, err)
	}
	return c, nil
}

// levelFilter drops records below min.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (l levelFilter) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.min && l.Handler.Enabled(ctx, lv)
}

func newActivities(ctx context.Context, st *store.Store, plugins *host.Host, keys *secret.Keyring, cfg activities.Config, logger *slog.Logger) *activities.Activities {
	// Each account decides with its active policy (uploaded through the
	// admin API) or the built-in default.
	policy := policies.NewRegistry(st)
	if err := policy.Preload(ctx); err != nil {
		// Fail closed but keep serving: every attempt decided by the
		// built-in policy is denied with this reason in the audit trail,
		// where an administrator will see it.
		logger.Error("built-in policy failed to load; attempts it decides will be denied", "error", err)
	}
	return activities.New(st, policy, plugins, keys, cfg, nil)
}

func newAPI(st *store.Store, tc client.Client, keys *secret.Keyring, publicURL string, review policies.ReviewerConfig, logger *slog.Logger) http.Handler {
	return api.New(api.Config{PublicURL: publicURL, Logger: logger, PolicyReview: review}, st, tc, keys).Handler()
}

// serveHTTP serves h on addr until ctx ends, then drains requests.
func serveHTTP(ctx context.Context, srv *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http on %s: %w", srv.Addr, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

func newHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}
