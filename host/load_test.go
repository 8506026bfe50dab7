package host

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hermetic is an environment that reads no profile file of the machine's.
func hermetic(t *testing.T, vars ...string) []string {
	t.Helper()
	return append([]string{"TEMPORAL_CONFIG_FILE=" + filepath.Join(t.TempDir(), "none.toml")}, vars...)
}

func TestLoadConfigFromEnvironment(t *testing.T) {
	t.Parallel()

	cfg, err := LoadConfig(nil, hermetic(t,
		"STATEDRIVEN_TASK_QUEUE=orders",
		"STATEDRIVEN_SPECIALISTS=checker, enricher,",
		"STATEDRIVEN_MAX_CONCURRENT_ACTIVITIES=50",
		"STATEDRIVEN_MAX_CONCURRENT_WORKFLOW_TASKS=20",
		"STATEDRIVEN_DEV=true",
		"STATEDRIVEN_DEV_DATA_DIR=/tmp/sd",
		"STATEDRIVEN_DEV_PORT=7300",
		"STATEDRIVEN_DEV_UI_PORT=-1",
		"STATEDRIVEN_LOG_LEVEL=debug",
		"STATEDRIVEN_LOG_FORMAT=json",
		"TEMPORAL_ADDRESS=temporal.example:7233",
		"TEMPORAL_NAMESPACE=prod",
		"REDIS_URL=rediss://app:s3cret@redis.example:6380/2",
		"STATEDRIVEN_REDIS_PREFIX=orders",
		"STATEDRIVEN_REDIS_TTL=48h",
		"STATEDRIVEN_HTTP_ALLOW=127.0.0.1, 10.1.0.0/16",
	), &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, "orders", cfg.TaskQueue)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.1.0.0/16")}, cfg.RunnerOptions().HTTPAllow)
	require.NotNil(t, cfg.Redis)
	require.Equal(t, "rediss://app:s3cret@redis.example:6380/2", cfg.Redis.URL)
	require.Equal(t, "orders", cfg.Redis.Prefix)
	require.Equal(t, 48*time.Hour, cfg.Redis.TTL)
	require.NotContains(t, cfg.Redis.Redacted(), "s3cret")
	require.Equal(t, []string{"checker", "enricher"}, cfg.Specialists)
	require.Equal(t, 50, cfg.MaxConcurrentActivities)
	require.Equal(t, 20, cfg.MaxConcurrentWorkflowTasks)
	require.True(t, cfg.Dev)
	require.Equal(t, "/tmp/sd", cfg.DevDataDir)
	require.Equal(t, 7300, cfg.DevPort)
	require.Equal(t, NoUI, cfg.DevUIPort)
	require.Equal(t, "debug", cfg.LogLevel)
	require.Equal(t, "json", cfg.LogFormat)
	require.Equal(t, "temporal.example:7233", cfg.Client.HostPort)
	require.Equal(t, "prod", cfg.Client.Namespace)
}

func TestLoadConfigFlagsBeatEnvironment(t *testing.T) {
	t.Parallel()

	env := hermetic(t,
		"STATEDRIVEN_TASK_QUEUE=from-env",
		"STATEDRIVEN_SPECIALISTS=env1,env2",
		"STATEDRIVEN_MAX_CONCURRENT_ACTIVITIES=50",
		"STATEDRIVEN_DEV=true",
		"STATEDRIVEN_LOG_LEVEL=debug",
		"TEMPORAL_ADDRESS=env.example:7233",
		"TEMPORAL_NAMESPACE=env-ns",
	)
	cfg, err := LoadConfig([]string{
		"--task-queue", "from-flag",
		"--specialist", "a", "--specialist=b,c",
		"--max-concurrent-activities=7",
		"--dev=false",
		"--log-level", "error",
		"--address", "flag.example:7233",
		"--namespace", "flag-ns",
	}, env, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, "from-flag", cfg.TaskQueue)
	require.Equal(t, []string{"a", "b", "c"}, cfg.Specialists, "the flag replaces the variable's list")
	require.Equal(t, 7, cfg.MaxConcurrentActivities)
	require.False(t, cfg.Dev)
	require.Equal(t, "error", cfg.LogLevel)
	require.Equal(t, "flag.example:7233", cfg.Client.HostPort)
	require.Equal(t, "flag-ns", cfg.Client.Namespace)

	// A variable that no flag overrides stays.
	cfg, err = LoadConfig([]string{"--log-level=warn"}, env, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, "from-env", cfg.TaskQueue)
	require.Equal(t, []string{"env1", "env2"}, cfg.Specialists)
	require.Equal(t, "env-ns", cfg.Client.Namespace)
}

func TestLoadConfigTemporalConnection(t *testing.T) {
	t.Parallel()

	t.Run("API key", func(t *testing.T) {
		t.Parallel()
		cfg, err := LoadConfig(nil, hermetic(t, "TEMPORAL_ADDRESS=ns.acct.tmprl.cloud:7233", "TEMPORAL_API_KEY=secret"), &bytes.Buffer{})
		require.NoError(t, err)
		require.NotNil(t, cfg.Client.Credentials, "the API key becomes credentials")
		require.NotNil(t, cfg.Client.ConnectionOptions.TLS, "an API key implies TLS, as in the Temporal CLI")
	})

	t.Run("profile file", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "temporal.toml")
		require.NoError(t, os.WriteFile(file, []byte(`
[profile.default]
address = "default.example:7233"
namespace = "default-ns"

[profile.staging]
address = "staging.example:7233"
namespace = "staging-ns"
`), 0o600))

		cfg, err := LoadConfig(nil, []string{"TEMPORAL_CONFIG_FILE=" + file}, &bytes.Buffer{})
		require.NoError(t, err)
		require.Equal(t, "default.example:7233", cfg.Client.HostPort)

		cfg, err = LoadConfig(nil, []string{"TEMPORAL_CONFIG_FILE=" + file, "TEMPORAL_PROFILE=staging", "TEMPORAL_NAMESPACE=over"}, &bytes.Buffer{})
		require.NoError(t, err)
		require.Equal(t, "staging.example:7233", cfg.Client.HostPort)
		require.Equal(t, "over", cfg.Client.Namespace, "a variable beats the profile")

		_, err = LoadConfig(nil, []string{"TEMPORAL_CONFIG_FILE=" + file, "TEMPORAL_PROFILE=missing"}, &bytes.Buffer{})
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		require.Contains(t, ce.Problems[0], "unable to find profile missing")
	})
}

func TestLoadConfigProblems(t *testing.T) {
	t.Parallel()

	_, err := LoadConfig([]string{"--dev-port=x"}, hermetic(t,
		"STATEDRIVEN_DEV_PORT=seven",
		"STATEDRIVEN_DEV=maybe",
		"STATEDRIVEN_MAX_CONCURRENT_ACTIVITIES=1.5",
	), &bytes.Buffer{})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, []string{
		`STATEDRIVEN_MAX_CONCURRENT_ACTIVITIES="1.5" is not a whole number`,
		`STATEDRIVEN_DEV_PORT="seven" is not a whole number`,
		`STATEDRIVEN_DEV="maybe" is not true or false`,
		`invalid value "x" for flag -dev-port: parse error`,
	}, ce.Problems)

	_, err = LoadConfig(nil, hermetic(t, "REDIS_URL=redis://:pw@localhost:6379/0", "STATEDRIVEN_REDIS_TTL=soon"), &bytes.Buffer{})
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 1)
	require.Contains(t, ce.Problems[0], "STATEDRIVEN_REDIS_TTL")

	_, err = LoadConfig([]string{"--nope"}, hermetic(t), &bytes.Buffer{})
	require.ErrorAs(t, err, &ce)
	require.Equal(t, []string{"flag provided but not defined: -nope"}, ce.Problems)

	_, err = LoadConfig([]string{"--dev", "extra"}, hermetic(t), &bytes.Buffer{})
	require.ErrorAs(t, err, &ce)
	require.Equal(t, []string{`unexpected argument "extra": the worker takes flags only (see -h)`}, ce.Problems)
}

func TestLoadConfigHelp(t *testing.T) {
	t.Parallel()

	var out bytes.Buffer
	_, err := LoadConfig([]string{"-h"}, hermetic(t), &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, name := range []string{"-task-queue", "-specialist", "-max-concurrent-activities", "-max-concurrent-workflow-tasks",
		"-dev", "-dev-data-dir", "-dev-port", "-dev-ui-port", "-log-level", "-log-format", "-address", "-namespace", "TEMPORAL_ADDRESS"} {
		require.Contains(t, out.String(), name)
	}
}

func TestLoadConfigObservabilityAndSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("k3y\n"), 0o600))

	cfg, err := LoadConfig([]string{"--http-address", ":9300"}, hermetic(t,
		EnvHTTPAddress+"=127.0.0.1:9233",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317",
		EnvTemporalAPIKeyFile+"="+keyFile,
	), &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, ":9300", cfg.HTTPAddress, "the flag beats the variable")
	require.Equal(t, "http://collector:4317", cfg.OTLPEndpoint)
	require.Equal(t, keyFile, cfg.TemporalAPIKeyFile)
	require.NotNil(t, cfg.Client.Credentials)
	require.NotNil(t, cfg.Client.ConnectionOptions.TLS, "an API key turns TLS on")

	cfg, err = LoadConfig(nil, hermetic(t, EnvTemporalAPIKeyFile+"="+keyFile, "TEMPORAL_TLS=false"), &bytes.Buffer{})
	require.NoError(t, err)
	require.Nil(t, cfg.Client.ConnectionOptions.TLS, "unless TEMPORAL_TLS=false")

	require.Equal(t, DefaultDevHTTPAddress, Config{Dev: true}.WithDefaults().HTTPAddress)
	require.Empty(t, Config{}.WithDefaults().HTTPAddress, "off unless dev mode")

	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, err = LoadConfig(nil, hermetic(t,
		EnvTemporalAPIKeyFile+"="+filepath.Join(dir, "missing"),
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
	), &bytes.Buffer{})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 2)
	require.Contains(t, ce.Problems[0], "OTLP/gRPC only")
	require.Contains(t, ce.Problems[1], EnvTemporalAPIKeyFile+": open ")

	_, err = LoadConfig(nil, hermetic(t, EnvTemporalAPIKeyFile+"="+empty), &bytes.Buffer{})
	require.ErrorContains(t, err, "is empty")
	_, err = LoadConfig(nil, hermetic(t, EnvTemporalAPIKeyFile+"="+keyFile, "TEMPORAL_API_KEY=other"), &bytes.Buffer{})
	require.ErrorContains(t, err, "keep one")

	err = Config{HTTPAddress: "9233", DevServer: noDev}.WithDefaults().validate()
	require.ErrorContains(t, err, `HTTP address "9233" is not host:port`)
}
