package host

import (
	"fmt"
	"io"
	"net"
	"strings"
	"unicode"

	"go.temporal.io/sdk/client"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
)

// Defaults that WithDefaults fills in.
const (
	// DefaultTaskQueue is the task queue of statedriven's workflow and of
	// the steps that name no specialist.
	DefaultTaskQueue = contract.DefaultTaskQueue
	// DefaultDevDataDir is where dev mode keeps its SQLite database,
	// relative to the working directory.
	DefaultDevDataDir = ".statedriven"
	// DefaultDevPort is the dev server's frontend (gRPC) port, the same
	// as `temporal server start-dev`.
	DefaultDevPort = 7233
	// DefaultDevUIPort is the dev server's Web UI port.
	DefaultDevUIPort = 8233
	// NoUI as Config.DevUIPort runs the dev server without its Web UI.
	NoUI = -1
	// DefaultDevHTTPAddress is where dev mode serves /metrics, /healthz
	// and /readyz unless told otherwise.
	DefaultDevHTTPAddress = "127.0.0.1:9233"
	// DefaultLogLevel and DefaultLogFormat describe the process's logs.
	DefaultLogLevel  = "info"
	DefaultLogFormat = "console"
)

// Config is everything a worker process needs. The zero value plus
// WithDefaults is a worker on the "statedriven" task queue that connects
// to localhost:7233. LoadConfig fills it from flags and environment
// variables (see the package documentation for the table).
type Config struct {
	// TaskQueue is the queue of the workflow and of the steps that name
	// no specialist. Default "statedriven".
	TaskQueue string
	// Specialists are served by this process too, each on its own task
	// queue "<TaskQueue>.<name>" with the same activities (and no
	// workflows). Names are unique and have no spaces or dots.
	Specialists []string
	// MaxConcurrentActivities bounds the activities that run at once on
	// each task queue. 0 means the SDK's default (1000).
	MaxConcurrentActivities int
	// MaxConcurrentWorkflowTasks bounds the workflow tasks that run at
	// once. 0 means the SDK's default (1000); 1 is refused by the SDK.
	MaxConcurrentWorkflowTasks int

	// Dev runs a Temporal server, with its Web UI, inside the process
	// instead of connecting to Client.HostPort. Its state survives
	// restarts in DevDataDir. It needs DevServer.
	Dev bool
	// DevDataDir holds the dev server's SQLite database. Default
	// ".statedriven" under the working directory.
	DevDataDir string
	// DevPort is the dev server's frontend port. Default 7233.
	DevPort int
	// DevUIPort is the Web UI's port. Default 8233; NoUI (-1) turns the
	// UI off.
	DevUIPort int

	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// LogFormat is console (for people) or json (for machines). Default
	// console.
	LogFormat string

	// HTTPAllow is the http action's allow-list as EnvHTTPAllow
	// (STATEDRIVEN_HTTP_ALLOW) holds it: IP addresses and CIDRs, separated
	// by commas, that the action may reach although they are loopback,
	// link-local, private, unspecified, multicast or cloud metadata
	// addresses. Host names are refused (validate says so): the check is
	// on the address dialled. Empty allows none of them. RunnerOptions
	// hands it to the Runner.
	HTTPAllow string

	// HTTPAddress is where the worker serves /metrics (Prometheus),
	// /healthz and /readyz, as host:port. Empty serves nothing, except in
	// dev mode, where it is DefaultDevHTTPAddress.
	HTTPAddress string
	// HealthProbe makes the process a health check instead of a worker:
	// it asks HTTPAddress's /readyz and exits 0 when it answers 200, 1
	// otherwise. For a container's health check in an image with no
	// shell or curl.
	HealthProbe bool
	// OTLPEndpoint, when set, sends traces of workflows, activities and
	// Redis commands to an OpenTelemetry collector over OTLP/gRPC: a
	// host:port, or a URL (http:// for no TLS). LoadConfig reads it from
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT;
	// the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself.
	OTLPEndpoint string
	// TemporalAPIKeyFile names a file that holds the Temporal API key,
	// read again at every connection, so a rotated key is picked up
	// (EnvTemporalAPIKeyFile). It replaces TEMPORAL_API_KEY and, like
	// it, turns TLS on unless TEMPORAL_TLS=false.
	TemporalAPIKeyFile string

	// Redis is where runs mirror their progress and history (package
	// projection); nil runs without a mirror. LoadConfig reads it from
	// REDIS_URL and the STATEDRIVEN_REDIS_* variables.
	Redis *projection.Config

	// Client holds the connection to Temporal: HostPort, Namespace,
	// credentials, TLS, headers, as LoadConfig reads them through
	// envconfig, then --address and --namespace. A program may also set
	// its interceptors or data converter here. In dev mode HostPort,
	// credentials and TLS are replaced by the dev server's; the namespace
	// is kept, and the dev server creates it. Default HostPort
	// localhost:7233, Namespace "default".
	Client client.Options

	// DevServer starts the server of dev mode; it is not read from flags.
	// Main sets it from its argument. host/devserver.ForHost is the real
	// one.
	DevServer DevServerFunc
	// Stdout is where dev mode prints the Web UI's and the frontend's
	// addresses for a person to click. Nil means no printing (they are
	// logged all the same). Main sets it to its stdout.
	Stdout io.Writer
}

// EnvHTTPAllow is the environment variable of Config.HTTPAllow.
const EnvHTTPAllow = activities.EnvHTTPAllow

// RunnerOptions returns the options of the Runner that serves this
// configuration's steps: the http action's allow-list. Call it on a
// configuration that validates; an allow-list that does not parse gives
// none.
func (c Config) RunnerOptions() activities.RunnerOptions {
	allow, err := activities.ParseHTTPAllow(c.HTTPAllow)
	if err != nil {
		return activities.RunnerOptions{}
	}
	return activities.RunnerOptions{HTTPAllow: allow}
}

// WithDefaults returns a copy of c with every unset field given its
// default. It never changes a field that is set, even to a bad value:
// that is validate's business.
func (c Config) WithDefaults() Config {
	if c.TaskQueue == "" {
		c.TaskQueue = DefaultTaskQueue
	}
	if c.DevDataDir == "" {
		c.DevDataDir = DefaultDevDataDir
	}
	if c.DevPort == 0 {
		c.DevPort = DefaultDevPort
	}
	if c.DevUIPort == 0 {
		c.DevUIPort = DefaultDevUIPort
	}
	if c.Dev && c.HTTPAddress == "" {
		c.HTTPAddress = DefaultDevHTTPAddress
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = DefaultLogFormat
	}
	if c.Client.HostPort == "" {
		c.Client.HostPort = client.DefaultHostPort
	}
	if c.Client.Namespace == "" {
		c.Client.Namespace = client.DefaultNamespace
	}
	c.Specialists = append([]string(nil), c.Specialists...)
	return c
}

// ConfigError is a configuration that cannot run, with every problem
// found, each saying what is wrong and what to write instead. Main exits
// with code 2 on it.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return "bad configuration: " + e.Problems[0]
	}
	return "bad configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// validate reports every problem of c (after WithDefaults) at once, or nil.
func (c Config) validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if msg := badName(c.TaskQueue); msg != "" {
		add("task queue %q %s (--task-queue, STATEDRIVEN_TASK_QUEUE)", c.TaskQueue, msg)
	}
	seen := make(map[string]bool, len(c.Specialists))
	for _, s := range c.Specialists {
		switch msg := badName(s); {
		case msg != "":
			add("specialist %q %s (--specialist, STATEDRIVEN_SPECIALISTS)", s, msg)
		case strings.Contains(s, "."):
			add("specialist %q has a dot; its task queue would be %q, which reads as a nested specialist: use _ or -", s, c.TaskQueue+"."+s)
		case seen[s]:
			add("specialist %q is given twice", s)
		}
		seen[s] = true
	}
	if c.MaxConcurrentActivities < 0 {
		add("max concurrent activities is %d: give a positive number, or 0 for the SDK's default (--max-concurrent-activities)", c.MaxConcurrentActivities)
	}
	if c.MaxConcurrentWorkflowTasks < 0 || c.MaxConcurrentWorkflowTasks == 1 {
		add("max concurrent workflow tasks is %d: give 2 or more (the SDK needs one slot for its sticky queue), or 0 for the SDK's default (--max-concurrent-workflow-tasks)", c.MaxConcurrentWorkflowTasks)
	}
	if c.Dev {
		if c.DevPort < 1 || c.DevPort > 65535 {
			add("dev port %d is not a TCP port (1-65535) (--dev-port, STATEDRIVEN_DEV_PORT)", c.DevPort)
		}
		if c.DevUIPort != NoUI && (c.DevUIPort < 1 || c.DevUIPort > 65535) {
			add("dev UI port %d is not a TCP port (1-65535), nor -1 for no Web UI (--dev-ui-port, STATEDRIVEN_DEV_UI_PORT)", c.DevUIPort)
		}
		if c.DevUIPort == c.DevPort {
			add("dev port and dev UI port are both %d: give them different ports", c.DevPort)
		}
		if c.DevServer == nil {
			add("--dev needs the in-process Temporal server, and this program was built without it: pass devserver.ForHost (package github.com/statedriven/statedriven/host/devserver) to host.Main, or set Config.DevServer")
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		add("log level %q is not one of debug, info, warn, error (--log-level, STATEDRIVEN_LOG_LEVEL)", c.LogLevel)
	}
	if c.LogFormat != "console" && c.LogFormat != "json" {
		add("log format %q is not console or json (--log-format, STATEDRIVEN_LOG_FORMAT)", c.LogFormat)
	}
	if _, err := activities.ParseHTTPAllow(c.HTTPAllow); err != nil {
		add("%v", err)
	}
	if c.HTTPAddress != "" {
		if _, port, err := net.SplitHostPort(c.HTTPAddress); err != nil || port == "" {
			add("HTTP address %q is not host:port, such as 127.0.0.1:9233 or :9233 (--http-address, %s)", c.HTTPAddress, EnvHTTPAddress)
		}
	}
	if strings.TrimSpace(c.Client.Namespace) != c.Client.Namespace {
		add("namespace %q has surrounding spaces (--namespace, TEMPORAL_NAMESPACE)", c.Client.Namespace)
	}
	if len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}

// badName says what is wrong with a task queue or specialist name, or "".
func badName(s string) string {
	switch {
	case s == "":
		return "is empty"
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		return "has a space in it"
	}
	return ""
}
