package host_test

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/statedriven/statedriven/host"
)

// compose is docker-compose.yml as this project writes it; a field it
// does not know is a typo until added here.
type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       string            `yaml:"build"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   []string          `yaml:"depends_on"`
		Restart     string            `yaml:"restart"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// No container runs here: docker-compose.yml, the Dockerfile and the
// server's dynamic config are checked against the code they name.
func TestDockerCompose(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))

	for _, name := range []string{"postgresql", "temporal", "temporal-ui", "redis", "worker"} {
		require.Contains(t, c.Services, name)
	}
	temporal := c.Services["temporal"]
	require.Contains(t, temporal.Ports, "7233:7233", "the starter reaches Temporal on localhost:7233")
	require.Equal(t, "postgresql", temporal.Environment["POSTGRES_SEEDS"])
	pg := c.Services["postgresql"].Environment
	require.Equal(t, pg["POSTGRES_USER"], temporal.Environment["POSTGRES_USER"], "Temporal logs in as the database's user")
	require.Equal(t, pg["POSTGRES_PASSWORD"], temporal.Environment["POSTGRES_PWD"])

	// The dynamic config file the server reads is the one in deploy/.
	mount := ""
	for _, v := range temporal.Volumes {
		if src, dst, ok := strings.Cut(v, ":"); ok && dst == "/etc/temporal/config/dynamicconfig" {
			mount = src
		}
	}
	require.Equal(t, "./deploy/dynamicconfig", mount)
	file, ok := strings.CutPrefix(temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"], "config/dynamicconfig/")
	require.True(t, ok, "DYNAMIC_CONFIG_FILE_PATH is in the mounted folder")
	dc, err := os.ReadFile(filepath.Join(root, mount, file))
	require.NoError(t, err)
	var settings map[string][]struct {
		Value any `yaml:"value"`
	}
	require.NoError(t, yaml.Unmarshal(dc, &settings))
	require.Equal(t, true, settings["system.enableEagerWorkflowStart"][0].Value)
	require.Equal(t, true, settings["system.enableActivityEagerExecution"][0].Value)

	require.Equal(t, "temporal:7233", c.Services["temporal-ui"].Environment["TEMPORAL_ADDRESS"])

	// The worker: its settings are ones the worker reads, its binary is
	// one the Dockerfile builds.
	w := c.Services["worker"]
	require.Equal(t, ".", w.Build)
	require.Equal(t, "temporal:7233", w.Environment["TEMPORAL_ADDRESS"])
	var environ []string
	for k, v := range w.Environment {
		environ = append(environ, k+"="+v)
	}
	sort.Strings(environ)
	cfg, err := host.LoadConfig(w.Command, environ, io.Discard)
	require.NoError(t, err, "the worker's command and environment are a valid configuration")
	require.Equal(t, "temporal:7233", cfg.Client.HostPort)
	require.Equal(t, []string{"validation_agent"}, cfg.Specialists)
	require.Equal(t, "json", cfg.LogFormat)
	require.NotNil(t, cfg.Redis, "the worker mirrors into the compose Redis")
	require.Equal(t, "redis://redis:6379/0", cfg.Redis.URL)
	require.Contains(t, w.DependsOn, "redis")
	require.Contains(t, c.Services["redis"].Ports, "6379:6379", "the starter reaches Redis on localhost:6379")

	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	require.Len(t, w.Entrypoint, 1)
	out := filepath.Base(w.Entrypoint[0])
	build := regexp.MustCompile(`go build -trimpath -o /out/(\S+) (\S+)`).FindAllStringSubmatch(string(dockerfile), -1)
	built := map[string]string{}
	for _, m := range build {
		built[m[1]] = m[2]
		_, err := os.Stat(filepath.Join(root, m[2], "main.go"))
		require.NoError(t, err, "the Dockerfile builds %s, a main package", m[2])
	}
	require.Contains(t, built, out, "the compose worker runs a binary the Dockerfile builds")

	// The image builds with go.mod's Go.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	require.NotNil(t, goVersion)
	require.Contains(t, string(dockerfile), "FROM golang:"+string(goVersion[1])+"-", "the Dockerfile's Go is go.mod's")
}
