package host

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/statedriven/statedriven/projection"
)

// Environment variables of the worker's own settings. The connection to
// Temporal uses the Temporal CLI's variables (TEMPORAL_ADDRESS, …),
// read by envconfig.
const (
	EnvTaskQueue                  = "STATEDRIVEN_TASK_QUEUE"
	EnvSpecialists                = "STATEDRIVEN_SPECIALISTS"
	EnvMaxConcurrentActivities    = "STATEDRIVEN_MAX_CONCURRENT_ACTIVITIES"
	EnvMaxConcurrentWorkflowTasks = "STATEDRIVEN_MAX_CONCURRENT_WORKFLOW_TASKS"
	EnvDev                        = "STATEDRIVEN_DEV"
	EnvDevDataDir                 = "STATEDRIVEN_DEV_DATA_DIR"
	EnvDevPort                    = "STATEDRIVEN_DEV_PORT"
	EnvDevUIPort                  = "STATEDRIVEN_DEV_UI_PORT"
	EnvLogLevel                   = "STATEDRIVEN_LOG_LEVEL"
	EnvLogFormat                  = "STATEDRIVEN_LOG_FORMAT"
)

// LoadConfig reads a Config from the command-line arguments (without the
// program name) and the environment (as os.Environ gives it): first the
// STATEDRIVEN_* variables and, through envconfig, the Temporal CLI's
// connection settings (profile file, then TEMPORAL_* variables), then the
// flags, so a flag beats its variable. Unset fields stay zero: Run applies
// WithDefaults and validates.
//
// On -h or --help it writes the usage to output and returns an error that
// matches flag.ErrHelp. Any other problem is a *ConfigError naming every
// bad flag or variable.
func LoadConfig(args, environ []string, output io.Writer) (Config, error) {
	env := newEnv(environ)
	var cfg Config
	var problems []string

	// Settings of our own, from the environment.
	cfg.TaskQueue = env.get(EnvTaskQueue)
	cfg.Specialists = splitList(env.get(EnvSpecialists))
	cfg.DevDataDir = env.get(EnvDevDataDir)
	cfg.LogLevel = env.get(EnvLogLevel)
	cfg.LogFormat = env.get(EnvLogFormat)
	cfg.HTTPAllow = env.get(EnvHTTPAllow)
	for _, v := range []struct {
		name string
		dst  *int
	}{
		{EnvMaxConcurrentActivities, &cfg.MaxConcurrentActivities},
		{EnvMaxConcurrentWorkflowTasks, &cfg.MaxConcurrentWorkflowTasks},
		{EnvDevPort, &cfg.DevPort},
		{EnvDevUIPort, &cfg.DevUIPort},
	} {
		if s := env.get(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s=%q is not a whole number", v.name, s))
				continue
			}
			*v.dst = n
		}
	}
	if s := env.get(EnvDev); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q is not true or false", EnvDev, s))
		}
		cfg.Dev = b
	}

	// The Redis projection, as the starter reads it too.
	if rc, ok, err := projection.ConfigFromEnv(env.get); err != nil {
		problems = append(problems, err.Error())
	} else if ok {
		cfg.Redis = &rc
	}

	// The connection, exactly as the Temporal CLI reads it.
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: env})
	if err != nil {
		problems = append(problems, fmt.Sprintf("Temporal connection settings (profile file or TEMPORAL_* variables): %v", err))
	}
	cfg.Client = opts

	cfg.HTTPAddress = env.get(EnvHTTPAddress)
	cfg.OTLPEndpoint = cmp.Or(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
	if p := cmp.Or(env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), env.get("OTEL_EXPORTER_OTLP_PROTOCOL")); cfg.OTLPEndpoint != "" && p != "" && p != "grpc" {
		problems = append(problems, fmt.Sprintf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: the worker exports traces over OTLP/gRPC only; set grpc, or leave it unset", p))
	}
	if file := env.get(EnvTemporalAPIKeyFile); file != "" {
		if err := apiKeyFromFile(&cfg, file, env); err != nil {
			problems = append(problems, err.Error())
		}
	}

	// Flags, over all of it.
	fs := flag.NewFlagSet("statedriven-worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.TaskQueue, "task-queue", cfg.TaskQueue, "task queue of the workflow and of steps without a specialist (default "+DefaultTaskQueue+")")
	fs.Var(&listFlag{list: &cfg.Specialists}, "specialist", "also serve the specialist's task queue <task-queue>.<name>; repeat it or separate names with commas")
	fs.IntVar(&cfg.MaxConcurrentActivities, "max-concurrent-activities", cfg.MaxConcurrentActivities, "activities run at once per task queue (0: the SDK's default, 1000)")
	fs.IntVar(&cfg.MaxConcurrentWorkflowTasks, "max-concurrent-workflow-tasks", cfg.MaxConcurrentWorkflowTasks, "workflow tasks run at once (0: the SDK's default, 1000)")
	fs.BoolVar(&cfg.Dev, "dev", cfg.Dev, "run a Temporal server and its Web UI inside this process")
	fs.StringVar(&cfg.DevDataDir, "dev-data-dir", cfg.DevDataDir, "where dev mode keeps its database (default "+DefaultDevDataDir+")")
	fs.IntVar(&cfg.DevPort, "dev-port", cfg.DevPort, "dev server's frontend port (default 7233)")
	fs.IntVar(&cfg.DevUIPort, "dev-ui-port", cfg.DevUIPort, "dev server's Web UI port, -1 for none (default 8233)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (default info)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "console or json (default console)")
	fs.StringVar(&cfg.HTTPAddress, "http-address", cfg.HTTPAddress, "serve /metrics, /healthz and /readyz on host:port (default: none; "+DefaultDevHTTPAddress+" in dev mode)")
	fs.BoolVar(&cfg.HealthProbe, "health-probe", false, "ask the worker at --http-address whether it is ready, exit 0 if so and 1 if not (a container's health check)")
	fs.StringVar(&cfg.Client.HostPort, "address", cfg.Client.HostPort, "Temporal frontend host:port (default localhost:7233; env TEMPORAL_ADDRESS)")
	fs.StringVar(&cfg.Client.Namespace, "namespace", cfg.Client.Namespace, "Temporal namespace (default \"default\"; env TEMPORAL_NAMESPACE)")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeUsage(output, fs)
			return Config{}, err
		}
		problems = append(problems, err.Error())
	} else if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q: the worker takes flags only (see -h)", fs.Arg(0)))
	}
	if len(problems) > 0 {
		return Config{}, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

func writeUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\nRuns statedriven's Temporal worker. Every flag has a STATEDRIVEN_* variable; the\nconnection to Temporal reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,\nTEMPORAL_TLS_* and TEMPORAL_PROFILE as the Temporal CLI does. A flag beats its variable.\n\nFlags:\n", fs.Name())
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// listFlag is a repeatable flag whose values may also be comma separated.
// Its first use replaces the list that came from the environment.
type listFlag struct {
	list *[]string
	set  bool
}

func (f *listFlag) String() string {
	if f.list == nil {
		return ""
	}
	return strings.Join(*f.list, ",")
}

func (f *listFlag) Set(s string) error {
	if !f.set {
		*f.list = nil
		f.set = true
	}
	*f.list = append(*f.list, splitList(s)...)
	return nil
}

// splitList splits a comma separated list, trimming spaces and dropping
// empty items (a trailing comma is no specialist).
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// env is an environment given as os.Environ gives it. It implements
// envconfig.EnvLookup, so the Temporal settings come from the same
// variables as ours, which keeps tests hermetic.
type env struct {
	list []string
	vars map[string]string
}

func newEnv(environ []string) env {
	e := env{list: environ, vars: make(map[string]string, len(environ))}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.vars[k] = v
		}
	}
	return e
}

// get returns a variable's value; empty and unset are the same.
func (e env) get(key string) string { return strings.TrimSpace(e.vars[key]) }

func (e env) Environ() []string { return e.list }

func (e env) LookupEnv(key string) (string, bool) {
	v, ok := e.vars[key]
	return v, ok
}

// apiKeyFromFile makes the connection's credentials the API key in file,
// read again at every connection, so a rotated key is picked up without a
// restart. Like TEMPORAL_API_KEY it turns TLS on unless TEMPORAL_TLS
// says false.
func apiKeyFromFile(cfg *Config, file string, env env) error {
	if env.get("TEMPORAL_API_KEY") != "" {
		return fmt.Errorf("both TEMPORAL_API_KEY and %s are set: keep one", EnvTemporalAPIKeyFile)
	}
	read := func() (string, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", EnvTemporalAPIKeyFile, err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("%s: %s is empty", EnvTemporalAPIKeyFile, file)
		}
		return key, nil
	}
	if _, err := read(); err != nil {
		return err
	}
	cfg.TemporalAPIKeyFile = file
	cfg.Client.Credentials = client.NewAPIKeyDynamicCredentials(func(context.Context) (string, error) { return read() })
	if tlsOn, err := strconv.ParseBool(cmp.Or(env.get("TEMPORAL_TLS"), "true")); err == nil && tlsOn && cfg.Client.ConnectionOptions.TLS == nil {
		cfg.Client.ConnectionOptions.TLS = &tls.Config{}
	}
	return nil
}
