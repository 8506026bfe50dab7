package devserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// builtins is the stock worker's registration: the interpreter, the
// built-in actions and the http allow-list from the configuration.
func builtins() host.Registration {
	runner := activities.NewRunner(activities.NewRegistry(), activities.RunnerOptions{})
	return host.Registration{
		Workflows:  func(w worker.WorkflowRegistry) { workflows.Register(w); runner.RegisterActions(w) },
		Activities: runner.Register,
		Configure:  func(cfg host.Config) { runner.AllowHTTP(cfg.RunnerOptions().HTTPAllow) },
	}
}

// hostWorker runs host.Run with the built-ins until stop is called (or
// the test ends); its logs are in the buffer.
func hostWorker(t *testing.T, cfg host.Config, level string) (logs *syncBuffer, stop func()) {
	t.Helper()
	logs = &syncBuffer{}
	log, err := host.NewLogger(level, "json", logs)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- host.Run(ctx, cfg, builtins(), log) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(time.Minute):
				t.Error("the worker did not stop within a minute")
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("worker logs:\n%s", logs.String())
		}
	})
	return logs, stop
}

func freeAddr(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func readiness(t *testing.T, addr string) (int, host.Readiness) {
	t.Helper()
	code, body := get(t, "http://"+addr+"/readyz")
	var rd host.Readiness
	if code != 0 {
		require.NoError(t, json.Unmarshal([]byte(body), &rd), body)
	}
	return code, rd
}

// sample is the sum of a metric's samples whose labels include all of
// labels ("k=\"v\"" each), in Prometheus's text format; -1 when none.
func sample(metrics, name string, labels ...string) float64 {
	sum, found := 0.0, false
	for line := range strings.Lines(metrics) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer name
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(rest, l)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	if !found {
		return -1
	}
	return sum
}

// While runs execute, /metrics has the SDK's series and statedriven's,
// and they move; /readyz turns unready while Redis, then Temporal, is
// away, and ready again after.
func TestMetricsAndReadiness(t *testing.T) {
	// Not parallel: it stops and starts the server it uses.
	dir := t.TempDir()
	s := startServerNoUI(t, dir, 0)
	port := frontendPort(t, s)
	rdb := redistest.Start(t)

	// A service that fails every other call: each run's fetch (one run
	// at a time) fails once, then is retried.
	var calls atomic.Int32
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, `{"ok": true}`)
	}))
	t.Cleanup(svc.Close)

	addr := freeAddr(t)
	queue := "observe"
	_, _ = hostWorker(t, host.Config{
		TaskQueue:   queue,
		HTTPAddress: addr,
		HTTPAllow:   "127.0.0.1",
		Redis:       &projection.Config{URL: rdb.URL()},
		Client:      client.Options{HostPort: s.FrontendAddress(), Namespace: s.Namespace()},
	}, "info")
	require.Eventually(t, func() bool { code, _ := readiness(t, addr); return code == http.StatusOK }, time.Minute, 50*time.Millisecond)
	code, body := get(t, "http://"+addr+"/healthz")
	require.Equal(t, http.StatusOK, code, body)

	plan := compile(t, fmt.Sprintf(`
workflow_id: observe
initial_step: fetch
defaults:
  retry: {initial_interval: 100ms, maximum_attempts: 3}
steps:
  - name: fetch
    action: http
    params: {url: "%s/"}
    next: hold
  - name: hold
    wait: {signal: go}
    next: done
  - name: done
    action: log
    params: {message: done}
`, svc.URL))
	c := newClient(t, s, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := func(id string) {
		t.Helper()
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, contract.WorkflowType,
			workflows.NewInput(plan, map[string]any{"run": id}))
		require.NoError(t, err)
	}
	waiting := func(id string) {
		t.Helper()
		require.Eventually(t, func() bool {
			v, err := c.QueryWorkflow(ctx, id, "", contract.QueryState)
			var sv contract.StateView
			return err == nil && v.Get(&sv) == nil && sv.State == statemachine.Waiting
		}, time.Minute, 20*time.Millisecond, "%s waits", id)
	}
	finish := func(id string) {
		t.Helper()
		require.NoError(t, c.SignalWorkflow(ctx, id, "", "go", nil))
		var res workflows.Result
		require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
		require.Equal(t, statemachine.Complete, res.State)
	}
	scrape := func() string {
		t.Helper()
		code, body := get(t, "http://"+addr+"/metrics")
		require.Equal(t, http.StatusOK, code, body)
		return body
	}

	start("m-1")
	waiting("m-1")
	// A refused operation: resume a run that is not paused.
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: "m-1", UpdateName: contract.UpdateResume,
		Args: []any{contract.Reason{Reason: "test"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	require.ErrorContains(t, err, "not paused")
	finish("m-1")

	first := scrape()
	for _, series := range []struct {
		name   string
		labels []string
	}{
		{"statedriven_transitions_total", []string{`from="INITIAL"`, `to="PROCESSING"`, `event="start"`}},
		{"statedriven_transitions_total", []string{`to="WAITING"`}},
		{"statedriven_transitions_total", []string{`to="COMPLETE"`}},
		{"statedriven_step_duration_seconds_count", []string{`action="http"`, `outcome="error"`}},
		{"statedriven_step_duration_seconds_count", []string{`action="http"`, `outcome="ok"`}},
		{"statedriven_step_duration_seconds_count", []string{`action="log"`, `outcome="ok"`}},
		{"statedriven_step_retries_total", []string{`action="http"`}},
		{"statedriven_refused_operations_total", []string{`kind="resume"`, `via="update"`}},
		{"statedriven_projection_lag_seconds_count", nil},
		{"statedriven_projection_backlog", nil},
		{"temporal_workflow_completed_total", nil},
		{"temporal_activity_execution_latency_seconds_count", nil},
		{"temporal_request_total", nil},
		{"temporal_sticky_cache_size", nil},
		{"temporal_worker_task_slots_available", nil},
		{"go_goroutines", nil},
	} {
		require.GreaterOrEqual(t, sample(first, series.name, series.labels...), 0.0, "%s%v in:\n%s", series.name, series.labels, first)
	}
	require.Equal(t, 1.0, sample(first, "statedriven_step_retries_total", `action="http"`))
	require.Eventually(t, func() bool { return sample(scrape(), contract.MetricRuns, `state="COMPLETE"`) == 1 }, 30*time.Second, 200*time.Millisecond)

	// The values move with another run.
	start("m-2")
	waiting("m-2")
	require.Eventually(t, func() bool { return sample(scrape(), contract.MetricRuns, `state="WAITING"`) == 1 }, 30*time.Second, 200*time.Millisecond)
	finish("m-2")
	second := scrape()
	for _, name := range []string{"statedriven_transitions_total", "statedriven_step_duration_seconds_count", "statedriven_projection_lag_seconds_count", "temporal_workflow_completed_total"} {
		require.Greater(t, sample(second, name), sample(first, name), name)
	}
	require.Equal(t, 2.0, sample(second, "statedriven_step_retries_total", `action="http"`))

	// Redis away: unready; a run that goes on piles up a backlog, and
	// writes it once Redis is back.
	rdb.Stop()
	require.Eventually(t, func() bool {
		code, rd := readiness(t, addr)
		return code == http.StatusServiceUnavailable && rd.Redis != "ok" && rd.Temporal == "ok"
	}, 30*time.Second, 100*time.Millisecond)
	_, rd := readiness(t, addr)
	t.Logf("unready while Redis is away: %+v", rd)
	start("m-3")
	waiting("m-3")
	away := scrape()
	require.Positive(t, sample(away, contract.MetricProjectionBacklog), away)
	require.Positive(t, sample(away, contract.MetricProjectionFailures), away)
	rdb.Start()
	require.Eventually(t, func() bool { code, _ := readiness(t, addr); return code == http.StatusOK }, 30*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { return sample(scrape(), contract.MetricProjectionBacklog) == 0 }, time.Minute, 200*time.Millisecond,
		"the run writes its backlog within its longest wait between tries (30 s)")
	finish("m-3")

	// Temporal away: unready; the same server back on its port: ready.
	c.Close()
	require.NoError(t, s.Stop())
	require.Eventually(t, func() bool {
		code, rd := readiness(t, addr)
		return code == http.StatusServiceUnavailable && rd.Temporal != "ok"
	}, 30*time.Second, 100*time.Millisecond)
	_, rd = readiness(t, addr)
	t.Logf("unready while Temporal is away: %+v", rd)
	startServerNoUI(t, dir, port)
	require.Eventually(t, func() bool { code, _ := readiness(t, addr); return code == http.StatusOK }, time.Minute, 100*time.Millisecond)
}

// collector is an OTLP/gRPC trace receiver: the span names it was sent.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	names map[string]int
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				c.names[sp.GetName()]++
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (c *collector) spans() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.names))
	for k, v := range c.names {
		out[k] = v
	}
	return out
}

// With an OTLP endpoint the worker traces workflows, activities and its
// Redis commands.
func TestTracesReachTheCollector(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	rdb := redistest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	col := &collector{names: map[string]int{}}
	g := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(g, col)
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)

	queue := "traced"
	_, stop := hostWorker(t, host.Config{
		TaskQueue:    queue,
		OTLPEndpoint: "http://" + ln.Addr().String(),
		Redis:        &projection.Config{URL: rdb.URL()},
		Client:       client.Options{HostPort: s.FrontendAddress(), Namespace: s.Namespace()},
	}, "info")
	plan := compile(t, `
workflow_id: traced
initial_step: a
steps:
  - name: a
    action: log
    params: {message: traced}
`)
	c := newClient(t, s, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "traced-1", TaskQueue: queue}, contract.WorkflowType, workflows.NewInput(plan, nil))
	require.NoError(t, err)
	var res workflows.Result
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, statemachine.Complete, res.State)
	stop() // flushes the batch of spans

	spans := col.spans()
	t.Logf("spans: %v", spans)
	require.Positive(t, spans["RunWorkflow:"+contract.WorkflowType], "the workflow's span")
	require.Positive(t, spans["RunActivity:"+contract.RunStepName], "the step's span")
	redisSpans := 0
	for name, n := range spans {
		if strings.HasPrefix(name, "eval") || strings.HasPrefix(name, "redis") {
			redisSpans += n
		}
	}
	require.Positive(t, redisSpans, "the projection's Redis commands")
}
