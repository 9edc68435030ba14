package embedtemporal

// Adapted from go.temporal.io/server/temporaltest/internal/lite_server.go
// (MIT, Temporal Technologies Inc.) for a file-backed, long-lived server.

import (
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
)

// clusterName names the single cluster; it is stored in the database, so it
// must never change.
const clusterName = "active"

// sqlConfig opens dbPath in WAL mode with synchronous=NORMAL: a committed
// transaction survives the process being killed (it is in the WAL file,
// replayed at the next open), and only an operating-system crash may lose
// the last ones. Temporal's plugin keeps a single connection.
func sqlConfig(dbPath string) *config.SQL {
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbPath,
		ConnectAttributes: map[string]string{
			"mode": "rwc",
			// Keys that are not SQLite URI parameters become PRAGMAs. Note the
			// lite server's "_journal_mode" spelling would be ignored.
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "10000",
		},
	}
}

// serverConfig is the static configuration of a one-node cluster with all
// four services, one history shard on SQLite, and no metrics, pprof or
// archival.
func serverConfig(sqlCfg *config.SQL, eps endpoints) *config.Config {
	return clusterConfig(config.Persistence{
		DefaultStore:     sqliteplugin.PluginName,
		VisibilityStore:  sqliteplugin.PluginName,
		NumHistoryShards: 1,
		DataStores: map[string]config.DataStore{
			sqliteplugin.PluginName: {SQL: sqlCfg},
		},
	}, eps)
}

// clusterConfig is the static configuration of a one-node cluster with all
// four services on persistence, and no metrics, pprof or archival.
func clusterConfig(persistence config.Persistence, eps endpoints) *config.Config {
	var conf config.Config
	conf.Global.Membership = config.Membership{
		MaxJoinDuration:  30 * time.Second,
		BroadcastAddress: eps.hostIP,
	}
	// Global.Metrics stays nil (no-op metrics handler) and PProf.Port 0
	// (pprof off): no extra ports to collide.
	conf.Persistence = persistence
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				// Stored in the cluster metadata; Temporal overwrites the
				// stored value when it differs, so the port may change
				// between starts.
				RPCAddress: eps.frontendHostPort(),
			},
		},
	}
	conf.DCRedirectionPolicy = config.DCRedirectionPolicy{Policy: "noop"}

	p := eps.servicePorts
	conf.Services = map[string]config.Service{
		"frontend": service(eps.frontendIP, eps.frontendPort, p[3]),
		"history":  service(eps.hostIP, p[0], p[4]),
		"matching": service(eps.hostIP, p[1], p[5]),
		"worker":   service(eps.hostIP, p[2], p[6]),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The worker service reaches the frontend through this address.
	conf.PublicClient = config.PublicClient{HostPort: eps.frontendHostPort()}
	return &conf
}

func service(ip string, grpcPort, membershipPort int) config.Service {
	return config.Service{RPC: config.RPC{
		GRPCPort:       grpcPort,
		MembershipPort: membershipPort,
		BindOnIP:       ip,
	}}
}
