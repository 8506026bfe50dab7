package host

import (
	"slices"

	"github.com/statedriven/statedriven/projection"
)

// Environment variables of the worker's connections and its HTTP
// endpoints, beside those of load.go.
const (
	// EnvHTTPAddress is where the worker serves /metrics, /healthz and
	// /readyz (host:port). Unset: nowhere, except in dev mode
	// (DefaultDevHTTPAddress).
	EnvHTTPAddress = "STATEDRIVEN_HTTP_ADDRESS"
	// EnvTemporalAPIKeyFile names a file that holds the Temporal API key,
	// for secrets mounted as files; TEMPORAL_API_KEY is the same from the
	// environment.
	EnvTemporalAPIKeyFile = "STATEDRIVEN_TEMPORAL_API_KEY_FILE"
)

// temporalVariables are the Temporal CLI's connection variables, read
// by envconfig exactly as the CLI reads them.
var temporalVariables = []string{
	"TEMPORAL_ADDRESS",
	"TEMPORAL_NAMESPACE",
	"TEMPORAL_API_KEY",
	"TEMPORAL_TLS",
	"TEMPORAL_TLS_CLIENT_CERT_PATH",
	"TEMPORAL_TLS_CLIENT_CERT_DATA",
	"TEMPORAL_TLS_CLIENT_KEY_PATH",
	"TEMPORAL_TLS_CLIENT_KEY_DATA",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH",
	"TEMPORAL_TLS_SERVER_CA_CERT_DATA",
	"TEMPORAL_TLS_SERVER_NAME",
	"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
	"TEMPORAL_PROFILE",
	"TEMPORAL_CONFIG_FILE",
	"TEMPORAL_CODEC_ENDPOINT",
	"TEMPORAL_CODEC_AUTH",
}

// otelVariables are the OpenTelemetry variables the OTLP trace exporter
// reads; tracing is on when an endpoint is set.
var otelVariables = []string{
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_INSECURE",
	"OTEL_EXPORTER_OTLP_TRACES_INSECURE",
	"OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES",
}

// Variables lists every environment variable the worker reads, sorted:
// its own (STATEDRIVEN_*), the projection's (REDIS_URL,
// STATEDRIVEN_REDIS_*), the Temporal CLI's (TEMPORAL_*, of which
// TEMPORAL_GRPC_META_<NAME> is a family: it is listed by its prefix) and
// OpenTelemetry's (OTEL_*). Deployment files are checked against it.
func Variables() []string {
	vars := []string{
		EnvTaskQueue, EnvSpecialists, EnvMaxConcurrentActivities,
		EnvMaxConcurrentWorkflowTasks, EnvDev, EnvDevDataDir, EnvDevPort,
		EnvDevUIPort, EnvLogLevel, EnvLogFormat, EnvHTTPAllow,
		EnvHTTPAddress, EnvTemporalAPIKeyFile,
		"TEMPORAL_GRPC_META_",
	}
	vars = append(vars, projection.Variables()...)
	vars = append(vars, temporalVariables...)
	vars = append(vars, otelVariables...)
	slices.Sort(vars)
	return slices.Compact(vars)
}
