package embedtemporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/flexauth/flexauth/internal/fileperm"
)

// DefaultNamespace is registered when Config.Namespace is empty.
const DefaultNamespace = "default"

// readyTimeout bounds the wait for the frontend when the caller's context
// has no deadline.
const readyTimeout = time.Minute

// probeName names the task queue and workflow ID the readiness probe asks
// about; neither is ever created.
const probeName = "embedtemporal-readiness-probe"

// Config says where the server keeps its state and where it listens.
type Config struct {
	// DatabasePath is the SQLite file; it and its folder are created, with
	// Temporal's schema, on the first start.
	DatabasePath string
	// Addr is the frontend's host:port. Empty means 127.0.0.1 and a port
	// that is free at start. The host must be an IP address or localhost.
	Addr string
	// Namespace is registered at start when missing. Empty means "default".
	Namespace string
	// Logger receives the server's logs at warn level and above. Nil
	// discards them.
	Logger *slog.Logger
}

// Server is a running Temporal server persisted to one SQLite file.
type Server struct {
	server    temporal.Server
	unlock    func() error
	hostPort  string
	namespace string

	stopOnce sync.Once
	stopErr  error
}

// Start opens (or creates) the database, registers the namespace when
// missing, starts every Temporal service in this process and returns once
// the frontend answers for the namespace, or ctx ends. Without a deadline on
// ctx it waits one minute at most.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DatabasePath == "" {
		return nil, errors.New("start temporal: database path is empty")
	}
	dbPath, err := filepath.Abs(cfg.DatabasePath)
	if err != nil {
		return nil, fmt.Errorf("start temporal: resolve %q: %w", cfg.DatabasePath, err)
	}
	if strings.ContainsAny(dbPath, "?#") {
		return nil, fmt.Errorf("start temporal: database path %q may not contain '?' or '#'", dbPath)
	}
	namespace := cfg.Namespace
	if namespace == "" {
		namespace = DefaultNamespace
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	serverLogger := newSlogLogger(logger, slog.LevelWarn)

	eps, err := resolveEndpoints(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return nil, fmt.Errorf("start temporal: create folder for %s: %w", dbPath, err)
	}
	unlock, err := lockDatabase(dbPath)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	// Workflow histories hold attempts' inputs: the database, its -wal and
	// -shm are for this user only. A new file is created empty here, which
	// prepareDatabase takes for a new database.
	if err := fileperm.PrivateSQLite(dbPath); err != nil {
		_ = unlock()
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	srv, err := startServer(dbPath, namespace, eps, serverLogger)
	if err != nil {
		_ = unlock()
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	s := &Server{
		server:    srv,
		unlock:    unlock,
		hostPort:  eps.frontendHostPort(),
		namespace: namespace,
	}
	if err := waitReady(ctx, s.hostPort, namespace); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	return s, nil
}

// startServer prepares the database and starts the services; it does not
// wait for them to answer.
func startServer(dbPath, namespace string, eps endpoints, logger slogLogger) (temporal.Server, error) {
	sqlCfg := sqlConfig(dbPath)
	if err := prepareDatabase(sqlCfg); err != nil {
		return nil, err
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("describe namespace %q: %w", namespace, err)
	}
	// CreateNamespaces skips namespaces that exist, so restarts keep the
	// namespace (and its ID) created by the first start.
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("register namespace %q: %w", namespace, err)
	}

	return newServer(serverConfig(sqlCfg, eps), logger)
}

// newServer creates and starts the services of conf; it does not wait for
// them to answer.
func newServer(conf *config.Config, logger slogLogger) (temporal.Server, error) {
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("create authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("create claim mapper: %w", err)
	}
	dc, err := dynamicConfig()
	if err != nil {
		return nil, err
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.WithDynamicConfigClient(dc),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
	)
	if err != nil {
		return nil, fmt.Errorf("create server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start services: %w", err)
	}
	return srv, nil
}

// waitReady polls the frontend until it describes the namespace.
func waitReady(ctx context.Context, hostPort, namespace string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := probe(ctx, hostPort, namespace)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for frontend %s: %w (last error: %w)", hostPort, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// probe dials the frontend and asks one question of each service that user
// workflows need: the frontend (namespace), matching (task queue) and
// history (an execution that does not exist). Until history and matching
// have joined the cluster, the last two fail with "Not enough hosts".
func probe(ctx context.Context, hostPort, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  hostPort,
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return err
	}
	defer c.Close()
	svc := c.WorkflowService()
	if _, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
		return err
	}
	if _, err := svc.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace: namespace,
		TaskQueue: &taskqueuepb.TaskQueue{Name: probeName, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
	}); err != nil {
		return err
	}
	_, err = svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: probeName},
	})
	if _, notFound := errors.AsType[*serviceerror.NotFound](err); err != nil && !notFound {
		return err
	}
	return nil
}

// HostPort is the frontend address for SDK clients and workers.
func (s *Server) HostPort() string { return s.hostPort }

// Namespace is the namespace registered at start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops every service and releases the database lock. Workflows in
// flight stay in the database and continue after the next Start. Temporal's
// SQLite plugin keeps its connection to the file open until the process
// exits (its pool never closes); a later Start in the same process reuses it.
// Calling Stop again returns the first call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		err := s.server.Stop()
		if uerr := s.unlock(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("release database lock: %w", uerr))
		}
		if err != nil {
			s.stopErr = fmt.Errorf("stop temporal: %w", err)
		}
	})
	return s.stopErr
}
