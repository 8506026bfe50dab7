package host_test

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	yaml "go.yaml.in/yaml/v3"

	"github.com/statedriven/statedriven/host"
)

// compose is docker-compose.yml as this project writes it; a field it
// does not know is a typo until added here. depends_on is a map: the
// short form (a list, which waits for nothing but the start) does not
// decode.
type compose struct {
	Services map[string]*composeService `yaml:"services"`
	Volumes  map[string]any             `yaml:"volumes"`
}

type composeService struct {
	Image         string                       `yaml:"image"`
	Build         string                       `yaml:"build"`
	ContainerName string                       `yaml:"container_name"`
	Entrypoint    []string                     `yaml:"entrypoint"`
	Command       []string                     `yaml:"command"`
	Environment   map[string]string            `yaml:"environment"`
	Volumes       []string                     `yaml:"volumes"`
	Ports         []string                     `yaml:"ports"`
	DependsOn     map[string]composeDependency `yaml:"depends_on"`
	Restart       string                       `yaml:"restart"`
	Healthcheck   *composeHealthcheck          `yaml:"healthcheck"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
}

type composeHealthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
	Disable     bool     `yaml:"disable"`
}

// Wait conditions of depends_on: a service that runs on, or a one-shot
// job that must have exited 0.
const (
	serviceHealthy   = "service_healthy"
	serviceCompleted = "service_completed_successfully"
)

// decodeCompose decodes a compose file strictly.
func decodeCompose(raw []byte) (compose, error) {
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

// No container runs here: docker-compose.yml, the Dockerfile and the
// server's dynamic config are checked against the code they name.
func TestDockerCompose(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	c, err := decodeCompose(raw)
	require.NoError(t, err, "docker-compose.yml decodes as this test knows compose (depends_on in the long form)")
	problems := composeProblems(root, c)
	require.Empty(t, problems, "docker-compose.yml:\n%s", strings.Join(problems, "\n"))
}

// The checks fail on a broken file: each case breaks a copy of
// docker-compose.yml one way and expects the problem to be named.
func TestDockerComposeProblems(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)

	t.Run("short depends_on", func(t *testing.T) {
		t.Parallel()
		broken := strings.Replace(string(raw), "    depends_on:\n      postgresql:\n        condition: service_healthy\n",
			"    depends_on:\n      - postgresql\n", 1)
		require.NotEqual(t, string(raw), broken, "the case still edits the file")
		_, err := decodeCompose([]byte(broken))
		require.Error(t, err)
	})

	for _, tc := range []struct {
		name  string
		spoil func(c compose)
		want  string
	}{
		{"no healthcheck", func(c compose) { svc(c, "redis").Healthcheck = nil }, `service "redis" has no healthcheck`},
		{"disabled healthcheck on a service others wait for", func(c compose) {
			svc(c, "redis").Healthcheck = &composeHealthcheck{Disable: true}
		}, `waits for "redis" to be healthy, but it is a one-shot job`},
		{"unknown dependency", func(c compose) {
			svc(c, "worker").DependsOn["redis-cache"] = composeDependency{Condition: serviceHealthy}
		}, `depends on "redis-cache", which is no service`},
		{"started is not ready", func(c compose) {
			svc(c, "temporal-ui").DependsOn["temporal"] = composeDependency{Condition: "service_started"}
		}, `waits for "temporal" with condition "service_started"`},
		{"a job waited for as healthy", func(c compose) {
			svc(c, "temporal").DependsOn["temporal-schema"] = composeDependency{Condition: serviceHealthy}
		}, `waits for "temporal-schema" to be healthy, but it is a one-shot job`},
		{"fixed host port on a worker", func(c compose) { svc(c, "worker").Ports = []string{"9233:9233"} }, `service "worker" publishes host port "9233:9233"`},
		{"container name on a worker", func(c compose) { svc(c, "specialist").ContainerName = "specialist" }, `service "specialist" has container_name`},
		{"variable the worker does not read", func(c compose) {
			svc(c, "worker").Environment["STATEDRIVEN_LOGFORMAT"] = "json"
		}, `STATEDRIVEN_LOGFORMAT, which the worker does not read`},
		{"healthcheck without the probe", func(c compose) {
			svc(c, "specialist").Healthcheck.Test = []string{"CMD", "/usr/local/bin/example-worker"}
		}, `service "specialist": the healthcheck is not`},
		{"no HTTP address", func(c compose) { delete(svc(c, "worker").Environment, host.EnvHTTPAddress) }, `service "worker" sets no STATEDRIVEN_HTTP_ADDRESS`},
		{"binary the Dockerfile does not build", func(c compose) {
			svc(c, "worker").Entrypoint = []string{"/usr/local/bin/statedriven-worker"}
		}, `statedriven-worker"], which the Dockerfile does not build`},
		{"specialist nobody serves", func(c compose) { svc(c, "specialist").Command = nil }, `specialist "validation_agent"`},
		{"search attribute missing", func(c compose) {
			s := svc(c, "temporal-namespace")
			s.Command = slices.Clone(s.Command)
			s.Command[len(s.Command)-1] = strings.Replace(s.Command[len(s.Command)-1], "--name RedrivenFrom --type Keyword", "", 1)
		}, `search attribute RedrivenFrom (Keyword)`},
		{"other server version", func(c compose) { svc(c, "temporal").Image = "temporalio/server:${TEMPORAL_VERSION:-1.28.1}" }, `go.mod's go.temporal.io/server`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := decodeCompose(raw)
			require.NoError(t, err)
			tc.spoil(c)
			problems := composeProblems(root, c)
			require.NotEmpty(t, problems)
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// svc is the named service of c, to change in place.
func svc(c compose, name string) *composeService { return c.Services[name] }

// composeProblems checks a decoded docker-compose.yml against the
// Dockerfile, go.mod, the examples and the worker's own lists, and
// returns every problem it finds.
func composeProblems(root string, c compose) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for _, name := range []string{"postgresql", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "redis", "worker", "specialist"} {
		if c.Services[name] == nil {
			add("no service %q", name)
		}
	}
	if len(problems) > 0 {
		return problems
	}
	names := slices.Sorted(mapKeys(c.Services))

	// Health checks and the order of start: a service others wait for
	// as healthy has a check; a one-shot job (its check disabled) is
	// waited for until it has exited 0, and restarts never, or it would
	// never be done.
	job := func(s *composeService) bool { return s.Healthcheck != nil && s.Healthcheck.Disable }
	for _, name := range names {
		s := c.Services[name]
		switch {
		case s.Healthcheck == nil:
			add("service %q has no healthcheck", name)
		case job(s):
			if s.Restart != "" && s.Restart != "no" {
				add("service %q is a one-shot job (healthcheck disabled) with restart %q", name, s.Restart)
			}
		case len(s.Healthcheck.Test) < 2 || (s.Healthcheck.Test[0] != "CMD" && s.Healthcheck.Test[0] != "CMD-SHELL"):
			add("service %q: healthcheck test %q is not [CMD, ...] or [CMD-SHELL, ...]", name, s.Healthcheck.Test)
		}
		for _, dep := range slices.Sorted(mapKeys(s.DependsOn)) {
			d, cond := c.Services[dep], s.DependsOn[dep].Condition
			switch {
			case d == nil:
				add("service %q depends on %q, which is no service", name, dep)
			case cond == serviceHealthy && job(d):
				add("service %q waits for %q to be healthy, but it is a one-shot job (%s)", name, dep, serviceCompleted)
			case cond == serviceHealthy && d.Healthcheck == nil:
				add("service %q waits for %q to be healthy, which has no healthcheck", name, dep)
			case cond == serviceCompleted && !job(d):
				add("service %q waits for %q to exit, but it is no one-shot job (its healthcheck is not disabled)", name, dep)
			case cond != serviceHealthy && cond != serviceCompleted:
				add("service %q waits for %q with condition %q: use %s (or %s for a one-shot job)", name, dep, cond, serviceHealthy, serviceCompleted)
			}
		}
	}
	for _, name := range names {
		if !job(c.Services[name]) {
			continue
		}
		waited := false
		for _, other := range c.Services {
			if _, ok := other.DependsOn[name]; ok {
				waited = true
			}
		}
		if !waited {
			add("service %q: its healthcheck is disabled, but nothing waits for it to complete", name)
		}
	}
	healthTest := func(name string) string { return strings.Join(c.Services[name].Healthcheck.Test, " ") }
	if c.Services["postgresql"].Healthcheck != nil && !strings.Contains(healthTest("postgresql"), "pg_isready") {
		add("postgresql's healthcheck does not use pg_isready")
	}
	if c.Services["redis"].Healthcheck != nil && !strings.Contains(healthTest("redis"), "redis-cli ping") {
		add("redis's healthcheck does not use redis-cli ping")
	}

	// What the starter and a person reach on the host.
	for name, port := range map[string]string{"temporal": "7233:7233", "redis": "6379:6379", "temporal-ui": "8080:8080"} {
		if !slices.Contains(c.Services[name].Ports, port) {
			add("service %q does not publish %s (README: the starter and the Web UI use it)", name, port)
		}
	}

	problems = append(problems, temporalProblems(root, c)...)
	problems = append(problems, workerProblems(root, c)...)
	return problems
}

// temporalProblems checks the server, its database, its schema and
// namespace jobs, its dynamic config and the versions of its images.
func temporalProblems(root string, c compose) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	temporal, schema, pg := c.Services["temporal"], c.Services["temporal-schema"], c.Services["postgresql"].Environment
	if temporal.Environment["POSTGRES_SEEDS"] != "postgresql" || schema.Environment["SQL_HOST"] != "postgresql" {
		add("Temporal and its schema job do not both reach the database at postgresql")
	}
	if pg["POSTGRES_USER"] != temporal.Environment["POSTGRES_USER"] || pg["POSTGRES_USER"] != schema.Environment["SQL_USER"] {
		add("Temporal and its schema job do not log in as the database's user %q", pg["POSTGRES_USER"])
	}
	if pg["POSTGRES_PASSWORD"] != temporal.Environment["POSTGRES_PWD"] || pg["POSTGRES_PASSWORD"] != schema.Environment["SQL_PASSWORD"] {
		add("Temporal and its schema job do not use the database's password")
	}

	// The dynamic config file the server reads is the one in deploy/.
	const mountDir = "/etc/temporal/config/dynamicconfig"
	mount := ""
	for _, v := range temporal.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == mountDir {
			mount = parts[0]
		}
	}
	if mount != "./deploy/dynamicconfig" {
		add("temporal does not mount ./deploy/dynamicconfig at %s", mountDir)
	}
	file, ok := strings.CutPrefix(temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"], mountDir+"/")
	if !ok {
		add("DYNAMIC_CONFIG_FILE_PATH %q is not in the mounted folder %s", temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"], mountDir)
	} else if dc, err := os.ReadFile(filepath.Join(root, mount, file)); err != nil {
		add("dynamic config: %v", err)
	} else {
		var settings map[string][]struct {
			Value any `yaml:"value"`
		}
		if err := yaml.Unmarshal(dc, &settings); err != nil {
			add("dynamic config %s: %v", file, err)
		}
		for _, key := range []string{"system.enableEagerWorkflowStart", "system.enableActivityEagerExecution"} {
			if len(settings[key]) == 0 || settings[key][0].Value != true {
				add("dynamic config %s does not turn on %s", file, key)
			}
		}
	}

	// The images are those of the dev server and the Web UI that go.mod
	// holds, so that `make run` and compose run the same Temporal.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		add("go.mod: %v", err)
		return problems
	}
	modVersion := func(module string) string {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + ` v(\S+)`).FindSubmatch(gomod)
		if m == nil {
			return ""
		}
		return string(m[1])
	}
	for _, image := range []struct{ service, repo, module string }{
		{"temporal", "temporalio/server", "go.temporal.io/server"},
		{"temporal-schema", "temporalio/admin-tools", "go.temporal.io/server"},
		{"temporal-namespace", "temporalio/admin-tools", "go.temporal.io/server"},
		{"temporal-ui", "temporalio/ui", "github.com/temporalio/ui-server/v2"},
	} {
		got := c.Services[image.service].Image
		m := regexp.MustCompile(`^` + regexp.QuoteMeta(image.repo) + `:\$\{[A-Z_]+:-([^}]+)\}$`).FindStringSubmatch(got)
		if want := modVersion(image.module); m == nil || m[1] != want {
			add("service %q runs %q: want %s:${VAR:-%s}, go.mod's %s", image.service, got, image.repo, want, image.module)
		}
	}

	// The namespace job creates the workers' namespace and every search
	// attribute that the workflow upserts, with its type.
	ns := c.Services["temporal-namespace"]
	script := strings.Join(ns.Command, " ")
	namespace := c.Services["worker"].Environment["TEMPORAL_NAMESPACE"]
	if !strings.Contains(script, "namespace create --namespace "+namespace+" ") {
		add("temporal-namespace does not create the workers' namespace %q", namespace)
	}
	if !strings.Contains(script, "search-attribute create --namespace "+namespace+" ") {
		add("temporal-namespace does not create search attributes in the workers' namespace %q", namespace)
	}
	if ns.Environment["TEMPORAL_ADDRESS"] != "temporal:7233" {
		add("temporal-namespace does not reach Temporal at temporal:7233")
	}
	typeNames := map[enumspb.IndexedValueType]string{
		enumspb.INDEXED_VALUE_TYPE_KEYWORD: "Keyword",
		enumspb.INDEXED_VALUE_TYPE_INT:     "Int",
	}
	attrs := host.SearchAttributes()
	for _, name := range slices.Sorted(mapKeys(attrs)) {
		typ := typeNames[attrs[name]]
		if !regexp.MustCompile(`--name ` + name + `\s+--type ` + typ + `\b`).MatchString(script) {
			add("temporal-namespace does not create search attribute %s (%s)", name, typ)
		}
	}
	return problems
}

// workerProblems checks the services built from the Dockerfile: what
// they run, what they read, how they are probed and how they scale.
func workerProblems(root string, c compose) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return []string{err.Error()}
	}
	// The binaries of the image: each one a main package, all copied to
	// /usr/local/bin.
	built := map[string]bool{}
	for _, m := range regexp.MustCompile(`go build -trimpath -o /out/(\S+) (\S+)`).FindAllStringSubmatch(string(dockerfile), -1) {
		if _, err := os.Stat(filepath.Join(root, m[2], "main.go")); err != nil {
			add("the Dockerfile builds %s, which is no main package", m[2])
		}
		built["/usr/local/bin/"+m[1]] = true
	}
	if !strings.Contains(string(dockerfile), "COPY --from=build /out/ /usr/local/bin/") {
		add("the Dockerfile does not copy /out/ to /usr/local/bin/")
	}
	// The image builds with go.mod's Go.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return append(problems, err.Error())
	}
	if goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod); goVersion == nil ||
		!strings.Contains(string(dockerfile), "FROM golang:"+string(goVersion[1])+"-") {
		add("the Dockerfile's Go is not go.mod's")
	}

	known := host.Variables()
	served := map[string]bool{}
	var workers []string
	for _, name := range slices.Sorted(mapKeys(c.Services)) {
		if s := c.Services[name]; s.Build == "." {
			workers = append(workers, name)
		}
	}
	if !slices.Contains(workers, "worker") || !slices.Contains(workers, "specialist") {
		add("worker and specialist are not both built from the Dockerfile (build: .)")
	}
	for _, name := range workers {
		s := c.Services[name]
		// The same program on every worker: the main queue's steps may
		// land on any of them, so they must all offer the same actions.
		if !slices.Equal(s.Entrypoint, c.Services["worker"].Entrypoint) {
			add("service %q runs %q, worker runs %q: every worker on the main queue must offer the same actions", name, s.Entrypoint, c.Services["worker"].Entrypoint)
		}
		if len(s.Entrypoint) != 1 || !built[s.Entrypoint[0]] {
			add("service %q runs %q, which the Dockerfile does not build into /usr/local/bin", name, s.Entrypoint)
			continue
		}
		binary := s.Entrypoint[0]

		// Distroless: the program probes itself.
		if s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, []string{"CMD", binary, "--health-probe"}) {
			add("service %q: the healthcheck is not [CMD, %s, --health-probe]", name, binary)
		}
		if s.Healthcheck != nil && len(s.Healthcheck.Test) > 1 && !built[s.Healthcheck.Test[1]] {
			add("service %q: the healthcheck runs %q, which the Dockerfile does not build", name, s.Healthcheck.Test[1])
		}
		httpAddress := s.Environment[host.EnvHTTPAddress]
		if httpAddress == "" {
			add("service %q sets no %s: --health-probe asks its /readyz", name, host.EnvHTTPAddress)
		} else if _, port, ok := strings.Cut(httpAddress, ":"); !ok || !slices.Contains(s.Ports, port) {
			add("service %q does not publish the container port of %s=%s", name, host.EnvHTTPAddress, httpAddress)
		}

		// --scale: no fixed host port, no fixed name.
		for _, p := range s.Ports {
			if strings.Contains(p, ":") {
				add("service %q publishes host port %q: a second replica could not start; give the container port only", name, p)
			}
		}
		if s.ContainerName != "" {
			add("service %q has container_name %q: a second replica could not start", name, s.ContainerName)
		}

		// Its settings are ones the worker reads.
		var environ []string
		for _, k := range slices.Sorted(mapKeys(s.Environment)) {
			environ = append(environ, k+"="+s.Environment[k])
			ours := false
			for _, prefix := range []string{"STATEDRIVEN_", "REDIS_", "TEMPORAL_", "OTEL_"} {
				ours = ours || strings.HasPrefix(k, prefix)
			}
			if ours && !slices.Contains(known, k) && !strings.HasPrefix(k, "TEMPORAL_GRPC_META_") {
				add("service %q sets %s, which the worker does not read (host.Variables)", name, k)
			}
		}
		cfg, err := host.LoadConfig(s.Command, environ, io.Discard)
		if err != nil {
			add("service %q: its command and environment are no valid configuration: %v", name, err)
			continue
		}
		if cfg.Client.HostPort != "temporal:7233" {
			add("service %q connects to %q, not temporal:7233", name, cfg.Client.HostPort)
		}
		if cfg.Redis == nil || cfg.Redis.URL != "redis://redis:6379/0" {
			add("service %q does not mirror into the compose Redis", name)
		}
		if cfg.LogFormat != "json" {
			add("service %q logs %q, not json", name, cfg.LogFormat)
		}
		for _, dep := range []string{"temporal", "temporal-namespace", "redis"} {
			if _, ok := s.DependsOn[dep]; !ok {
				add("service %q does not wait for %s", name, dep)
			}
		}
		for _, sp := range cfg.Specialists {
			served[sp] = true
		}
		if name == "worker" && len(cfg.Specialists) > 0 {
			add("service worker serves specialists %v: the README scales it as the plain worker", cfg.Specialists)
		}
	}

	// Every specialist that an example names has a worker.
	examples, err := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	if err != nil || len(examples) == 0 {
		return append(problems, fmt.Sprintf("no examples: %v", err))
	}
	more, _ := filepath.Glob(filepath.Join(root, "examples", "*", "*.yaml"))
	for _, file := range append(examples, more...) {
		body, err := os.ReadFile(file)
		if err != nil {
			add("%v", err)
			continue
		}
		for _, m := range regexp.MustCompile(`(?m)^\s*specialist:\s*([\w-]+)`).FindAllStringSubmatch(string(body), -1) {
			if !served[m[1]] {
				add("%s names specialist %q, which no compose worker serves", path.Base(file), m[1])
			}
		}
	}
	sort.Strings(problems)
	return problems
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
