package devserver

import (
	"fmt"
	"net"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	serverlog "go.temporal.io/server/common/log"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
)

// clusterName is the one cluster's name, as in the Temporal CLI's dev
// server. It is stored in the database: keep it.
const clusterName = "active"

// dynamicConfig is what statedriven relies on, over the server's defaults
// (most are on by default in this server version; saying so keeps them on
// across upgrades), then the caller's overrides.
func dynamicConfig(overrides map[string]any) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{
		// The first workflow task comes back in the start response to a
		// worker of the same process: no trip through matching.
		dynamicconfig.EnableEagerWorkflowStart.Key(): true,
		// Activities on the workflow's own task queue are handed to the
		// worker in the workflow task's response.
		dynamicconfig.EnableActivityEagerExecution.Key(): true,
		// With one history shard, the server reads each of its task
		// queues at most 20 times a second by default: a step that is
		// not handed back eagerly (after a retry, a timer, a signal, a
		// step on a specialist's queue) waited up to 50 ms for its
		// task to reach matching, and a run of five quick steps took
		// 250 ms. Measured in BENCHMARKS.md.
		dynamicconfig.TransferProcessorMaxPollRPS.Key(): 1000,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():    1000,
		// Updates (transition, approve, reject, rollback, modify), also
		// those that wait only until accepted.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
	}
	for k, v := range overrides {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

// newServer builds the server: one process, four services on loopback
// (the frontend on opts.IP), SQLite for both stores, each its own database.
func newServer(opts Options, p *ports, dbs databases, zl *zap.Logger) (temporal.Server, error) {
	frontendAddr := net.JoinHostPort(dialHost(opts.IP), strconv.Itoa(p.frontend))
	internal := func(grpcPort, membershipPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, MembershipPort: membershipPort, BindOnLocalHost: true}}
	}

	var cfg config.Config
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"}
	cfg.Persistence = config.Persistence{
		DefaultStore:     "sqlite",
		VisibilityStore:  "sqlite-visibility",
		NumHistoryShards: 1,
		DataStores: map[string]config.DataStore{
			"sqlite":            {SQL: dbs.main},
			"sqlite-visibility": {SQL: dbs.visibility},
		},
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontendAddr},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	cfg.Services = map[string]config.Service{
		"frontend": {RPC: config.RPC{GRPCPort: p.frontend, MembershipPort: p.membership[0], BindOnIP: opts.IP}},
		"history":  internal(p.services[0], p.membership[1]),
		"matching": internal(p.services[1], p.membership[2]),
		"worker":   internal(p.services[2], p.membership[3]),
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	cfg.PublicClient.HostPort = frontendAddr

	logger := serverlog.NewZapLogger(zl)
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("claim mapper: %w", err)
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(&cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig(opts.DynamicConfig)),
	)
	if err != nil {
		return nil, fmt.Errorf("build the Temporal server: %w", err)
	}
	return srv, nil
}

// newUI builds the Web UI, pointed at the frontend, quiet, and usable
// over plain http.
func newUI(opts Options, port int, frontend string) *uiserver.Server {
	return uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                opts.IP,
		Port:                port,
		TemporalGRPCAddress: frontend,
		EnableUI:            true,
		DefaultNamespace:    opts.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
	}))
}

// sqliteConfig is the store's connection: a file, or a private in-memory
// database.
func sqliteConfig(file string, memoryName string) *config.SQL {
	cfg := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if file == "" {
		cfg.ConnectAttributes["mode"] = "memory"
		cfg.ConnectAttributes["cache"] = "shared"
		cfg.DatabaseName = memoryName
		return cfg
	}
	cfg.ConnectAttributes["mode"] = "rwc"
	// Write-ahead logging with synchronous=NORMAL: a commit is one append
	// to the log, synced at checkpoints, instead of several fsyncs. The
	// database survives a crash or a kill of the process (which is what a
	// dev server must survive); a power cut may lose the last commits.
	// Measured in BENCHMARKS.md: it is what lets a run reach its first
	// step within a few milliseconds in dev mode.
	cfg.ConnectAttributes["journal_mode"] = "wal"
	cfg.ConnectAttributes["synchronous"] = "NORMAL"
	// The checkpointer copies the log into the file in the background
	// (see CheckpointEvery); the commits checkpoint only as a backstop.
	cfg.ConnectAttributes["wal_autocheckpoint"] = strconv.Itoa(walBackstopPages)
	// A log that grew in a burst is cut back to this when it restarts.
	cfg.ConnectAttributes["journal_size_limit"] = strconv.Itoa(walSizeLimit)
	cfg.DatabaseName = file
	return cfg
}
