// Package host runs statedriven's workers: it turns flags and environment
// variables into a Config, builds the zap logger (and routes the Temporal
// SDK's logs into it), connects to Temporal — or, in dev mode, starts one
// inside the process — registers the search attributes that the Web UI
// shows, and serves the main task queue and one queue per specialist until
// its context is cancelled.
//
// A worker program is three lines around Main:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	code := host.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, reg, devserver.ForHost)
//	stop(); os.Exit(code)
//
// where reg is a Registrar: the main task queue gets its workflows and
// activities, each specialist queue its activities only.
//
// # Dev mode and the Temporal server
//
// This package never imports the Temporal server, so that the programs and
// tests that use it without dev mode do not build the server (minutes on a
// small machine). Dev mode reaches the server through a DevServerFunc that
// the program hands to Main or puts in Config.DevServer;
// host/devserver.ForHost is the one that runs a real Temporal server with
// its Web UI in the process. A program built without it refuses --dev with
// a clear message.
//
// # Configuration
//
// Every field of Config has a flag and an environment variable; a flag
// beats its variable. The connection to Temporal (address, namespace, API
// key, TLS, profile file) is read by go.temporal.io/sdk/contrib/envconfig
// exactly as the Temporal CLI reads it, so one shell serves the worker, the
// starter and `temporal`:
//
//	| flag | variable | default |
//	| --- | --- | --- |
//	| --task-queue | STATEDRIVEN_TASK_QUEUE | statedriven |
//	| --specialist (repeatable, or comma separated) | STATEDRIVEN_SPECIALISTS (comma separated) | none |
//	| --max-concurrent-activities | STATEDRIVEN_MAX_CONCURRENT_ACTIVITIES | 0: the SDK's (1000) |
//	| --max-concurrent-workflow-tasks | STATEDRIVEN_MAX_CONCURRENT_WORKFLOW_TASKS | 0: the SDK's (1000) |
//	| --dev | STATEDRIVEN_DEV | false |
//	| --dev-data-dir | STATEDRIVEN_DEV_DATA_DIR | .statedriven |
//	| --dev-port | STATEDRIVEN_DEV_PORT | 7233 |
//	| --dev-ui-port | STATEDRIVEN_DEV_UI_PORT | 8233 (-1: no Web UI) |
//	| --log-level | STATEDRIVEN_LOG_LEVEL | info |
//	| --log-format | STATEDRIVEN_LOG_FORMAT | console |
//	| --address | TEMPORAL_ADDRESS | localhost:7233 |
//	| --namespace | TEMPORAL_NAMESPACE | default |
//	| | TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE, TEMPORAL_GRPC_META_* | as the Temporal CLI |
//	| | REDIS_URL | none: runs are not mirrored into Redis |
//	| | STATEDRIVEN_REDIS_PREFIX, STATEDRIVEN_REDIS_TTL, STATEDRIVEN_REDIS_HISTORY_MAX | wf, 24h, 10000 (package projection) |
package host
