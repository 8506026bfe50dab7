package host

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// noDev stands for a real dev server in tests that only need one to be set.
func noDev(context.Context, DevServerOptions) (DevServer, error) {
	return nil, errors.New("no dev server in this test")
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()

	got := Config{}.WithDefaults()
	require.Equal(t, "statedriven", got.TaskQueue)
	require.Equal(t, ".statedriven", got.DevDataDir)
	require.Equal(t, 7233, got.DevPort)
	require.Equal(t, 8233, got.DevUIPort)
	require.Equal(t, "info", got.LogLevel)
	require.Equal(t, "console", got.LogFormat)
	require.Equal(t, "localhost:7233", got.Client.HostPort)
	require.Equal(t, "default", got.Client.Namespace)
	require.Zero(t, got.MaxConcurrentActivities, "0 leaves the SDK's default")
	require.NoError(t, got.validate())

	set := Config{TaskQueue: "orders", DevPort: 9000, DevUIPort: NoUI, LogLevel: "debug", Specialists: []string{"a"}}
	got = set.WithDefaults()
	require.Equal(t, "orders", got.TaskQueue)
	require.Equal(t, 9000, got.DevPort)
	require.Equal(t, NoUI, got.DevUIPort)
	require.Equal(t, "debug", got.LogLevel)
	got.Specialists[0] = "changed"
	require.Equal(t, "a", set.Specialists[0], "WithDefaults returns a copy")
}

func TestValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		change func(*Config)
		want   []string // each a problem's exact text
	}{
		{"task queue with a space", func(c *Config) { c.TaskQueue = "my queue" },
			[]string{`task queue "my queue" has a space in it (--task-queue, STATEDRIVEN_TASK_QUEUE)`}},
		{"empty specialist", func(c *Config) { c.Specialists = []string{""} },
			[]string{`specialist "" is empty (--specialist, STATEDRIVEN_SPECIALISTS)`}},
		{"specialist with a dot", func(c *Config) { c.Specialists = []string{"a.b"} },
			[]string{`specialist "a.b" has a dot; its task queue would be "statedriven.a.b", which reads as a nested specialist: use _ or -`}},
		{"specialist twice", func(c *Config) { c.Specialists = []string{"checker", "checker"} },
			[]string{`specialist "checker" is given twice`}},
		{"negative activities", func(c *Config) { c.MaxConcurrentActivities = -1 },
			[]string{`max concurrent activities is -1: give a positive number, or 0 for the SDK's default (--max-concurrent-activities)`}},
		{"one workflow task slot", func(c *Config) { c.MaxConcurrentWorkflowTasks = 1 },
			[]string{`max concurrent workflow tasks is 1: give 2 or more (the SDK needs one slot for its sticky queue), or 0 for the SDK's default (--max-concurrent-workflow-tasks)`}},
		{"log level", func(c *Config) { c.LogLevel = "verbose" },
			[]string{`log level "verbose" is not one of debug, info, warn, error (--log-level, STATEDRIVEN_LOG_LEVEL)`}},
		{"log format", func(c *Config) { c.LogFormat = "xml" },
			[]string{`log format "xml" is not console or json (--log-format, STATEDRIVEN_LOG_FORMAT)`}},
		{"dev without a dev server", func(c *Config) { c.Dev, c.DevServer = true, nil },
			[]string{`--dev needs the in-process Temporal server, and this program was built without it: pass devserver.ForHost (package github.com/statedriven/statedriven/host/devserver) to host.Main, or set Config.DevServer`}},
		{"dev ports", func(c *Config) { c.Dev, c.DevPort, c.DevUIPort = true, 70000, -2 },
			[]string{
				`dev port 70000 is not a TCP port (1-65535) (--dev-port, STATEDRIVEN_DEV_PORT)`,
				`dev UI port -2 is not a TCP port (1-65535), nor -1 for no Web UI (--dev-ui-port, STATEDRIVEN_DEV_UI_PORT)`,
			}},
		{"same dev ports", func(c *Config) { c.Dev, c.DevPort, c.DevUIPort = true, 7233, 7233 },
			[]string{`dev port and dev UI port are both 7233: give them different ports`}},
		{"http allow-list with a host name and a bad CIDR", func(c *Config) { c.HTTPAllow = "127.0.0.1,metadata.internal, 10.0.0.0/40" },
			[]string{`STATEDRIVEN_HTTP_ALLOW: "metadata.internal", "10.0.0.0/40" are not an IP address or a CIDR (like 127.0.0.1, 10.1.0.0/16 or fd00::/8); host names are not accepted, give their addresses`}},
		{"http allow-list", func(c *Config) { c.HTTPAllow = "127.0.0.1, 10.1.0.0/16" }, nil},
		{"bad dev ports do not matter without dev", func(c *Config) { c.DevPort = 70000 }, nil},
		{"every problem at once", func(c *Config) { c.TaskQueue, c.LogFormat = "a b", "xml" },
			[]string{
				`task queue "a b" has a space in it (--task-queue, STATEDRIVEN_TASK_QUEUE)`,
				`log format "xml" is not console or json (--log-format, STATEDRIVEN_LOG_FORMAT)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{DevServer: noDev}.WithDefaults()
			tt.change(&cfg)
			err := cfg.validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.want, ce.Problems)
		})
	}
}

func TestConfigErrorMessage(t *testing.T) {
	t.Parallel()

	require.EqualError(t, &ConfigError{Problems: []string{"one"}}, "bad configuration: one")
	require.EqualError(t, &ConfigError{Problems: []string{"one", "two"}}, "bad configuration:\n  - one\n  - two")
}

func TestRunnerOptions(t *testing.T) {
	t.Parallel()

	require.Empty(t, Config{}.RunnerOptions().HTTPAllow, "nothing is allowed by default")
	got := Config{HTTPAllow: " 127.0.0.1 ,10.1.2.3/16,fd00:ec2::254"}.RunnerOptions()
	require.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("fd00:ec2::254/128"),
	}, got.HTTPAllow)
}
