package workflows_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
	starter "github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/workflows"
)

// fiveSteps is the definition the engine runs in the benchmark; the
// hand-written workflow below does the same five activities.
const fiveSteps = `
workflow_id: five-steps
initial_step: s1
defaults:
  retry: {initial_interval: 1s, maximum_attempts: 3}
  timeouts: {start_to_close: 1m}
steps:
  - {name: s1, action: noop}
  - {name: s2, action: noop}
  - {name: s3, action: noop}
  - {name: s4, action: noop}
  - {name: s5, action: noop}
`

// plainWorkflow is the baseline: what a team would write by hand for five
// steps, one activity after another, with the same options.
func plainWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 100 * time.Second, MaximumAttempts: 3},
	})
	for i := range 5 {
		in := contract.StepInput{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Step: fmt.Sprintf("s%d", i+1)}
		if err := workflow.ExecuteActivity(ctx, "PlainStep", in).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// firstSteps records when each workflow's first activity started.
type firstSteps struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (f *firstSteps) mark(in contract.StepInput) {
	if in.Step != "s1" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.at[in.WorkflowID]; !ok {
		f.at[in.WorkflowID] = time.Now()
		rpcs.note("activity s1 runs")
	}
}

func (f *firstSteps) get(id string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.at[id]
	return t, ok
}

// enginePlain is the pair the benchmarks compare: the five-step
// definition through the engine and the hand-written workflow, served
// by one worker on one task queue.
type enginePlain struct {
	b     *testing.B
	c     client.Client
	queue string
	plan  *definition.Plan
	first *firstSteps
	// eager starts runs with eager workflow start; BENCH_NO_EAGER starts
	// them the way a client without a worker of its own (`starter run`)
	// does: the first workflow task goes through the server's matching
	// to the worker's poll.
	eager bool
	// gap is the pause before each run of the latency measurement.
	gap time.Duration
	seq int
	// lastRun is the last run of each kind started by throughput.
	lastRun map[string]client.WorkflowRun
	// countFailures makes throughput count the runs of each kind that
	// fail (in failed) instead of ending the benchmark at the first.
	countFailures bool
	failed        map[string]int
}

// fiveStepPlan compiles fiveSteps, the benchmarks' definition.
func fiveStepPlan(b *testing.B) *definition.Plan {
	b.Helper()
	doc, err := definition.Parse("five-steps.yaml", []byte(fiveSteps))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := definition.Compile(doc, definition.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return plan
}

// newEnginePlain compiles the five-step plan for c and queue; register
// puts what it runs on a worker.
func newEnginePlain(b *testing.B, c client.Client, queue string) *enginePlain {
	b.Helper()
	plan := fiveStepPlan(b)
	return &enginePlain{
		b: b, c: c, queue: queue, plan: plan,
		first:   &firstSteps{at: map[string]time.Time{}},
		eager:   os.Getenv("BENCH_NO_EAGER") == "",
		gap:     time.Duration(envInt("BENCH_LATENCY_GAP_MS", 0)) * time.Millisecond,
		lastRun: map[string]client.WorkflowRun{},
		failed:  map[string]int{},
	}
}

// register puts the engine (with project as its projection), its noop
// action, the hand-written workflow and its activity on w.
func (p *enginePlain) register(w worker.Worker, project projection.ProjectFunc) {
	reg := activities.NewRegistry()
	reg.MustRegister("noop", func(ctx context.Context, in contract.StepInput) (any, error) {
		p.first.mark(in)
		return nil, nil
	})
	workflows.Register(w)
	projection.Register(w, project)
	activities.NewRunner(reg, activities.RunnerOptions{}).Register(w)
	w.RegisterWorkflowWithOptions(plainWorkflow, workflow.RegisterOptions{Name: "PlainWorkflow"})
	w.RegisterActivityWithOptions(func(ctx context.Context, in contract.StepInput) error {
		p.first.mark(in)
		return nil
	}, activity.RegisterOptions{Name: "PlainStep"})
}

// start starts one run of kind ("engine" or "plain") and returns it with
// the time of the call.
func (p *enginePlain) start(kind string) (client.WorkflowRun, time.Time) {
	p.seq++
	id := fmt.Sprintf("bench-%s-%d-%d", kind, p.seq, time.Now().UnixNano())
	ctx := context.Background()
	t0 := time.Now()
	var run client.WorkflowRun
	var err error
	if kind == "engine" {
		// Started as `starter run` starts it, search attributes and all.
		opts := starter.StartOptions(p.plan, id, p.queue)
		in := workflows.NewInput(p.plan, nil)
		if os.Getenv("BENCH_NO_SA") != "" {
			opts.TypedSearchAttributes = temporal.SearchAttributes{}
			in.NoSearchAttributes = true
		}
		opts.EnableEagerStart = p.eager
		run, err = p.c.ExecuteWorkflow(ctx, opts, contract.WorkflowType, in)
	} else {
		opts := client.StartWorkflowOptions{ID: id, TaskQueue: p.queue, EnableEagerStart: p.eager}
		run, err = p.c.ExecuteWorkflow(ctx, opts, "PlainWorkflow")
	}
	rpcs.note("ExecuteWorkflow returned")
	if err != nil {
		p.b.Fatal(err)
	}
	return run, t0
}

// throughput starts runs runs of kind at once and waits for them all.
func (p *enginePlain) throughput(kind string, runs int) time.Duration {
	ctx := context.Background()
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for range runs {
		run, _ := p.start(kind)
		p.lastRun[kind] = run
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run.Get(ctx, nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	close(errs)
	for err := range errs {
		if !p.countFailures {
			p.b.Fatal(err)
		}
		if p.failed[kind] == 0 {
			p.b.Logf("%s: a run failed: %v", kind, err)
		}
		p.failed[kind]++
	}
	return d
}

// firstStep starts one run of kind, waits for its end, and returns how
// long its first step took to start.
func (p *enginePlain) firstStep(kind string, counted bool) time.Duration {
	time.Sleep(p.gap)
	rpcs.start()
	defer rpcs.stop()
	run, t0 := p.start(kind)
	if err := run.Get(context.Background(), nil); err != nil {
		p.b.Fatal(err)
	}
	t1, ok := p.first.get(run.GetID())
	if !ok {
		p.b.Fatalf("%s: no first step recorded", run.GetID())
	}
	if d := t1.Sub(t0); counted && d >= 10*time.Millisecond && rpcs.file != "" {
		if err := rpcs.write(kind, d, t0); err != nil {
			p.b.Fatal(err)
		}
	}
	return t1.Sub(t0)
}

// latencies measures the start-to-first-step latency of both kinds, n
// runs each, one run at a time, taking turns (plain, engine; engine,
// plain; ...) so that neither meets a warmer or a busier server, logs
// how many took 10 ms or more and returns each kind's latencies, sorted.
func (p *enginePlain) latencies(n int) map[string][]time.Duration {
	// One run of each first, not counted: the first run on the
	// benchmark's new task queue waits for the server to load it.
	p.firstStep("plain", false)
	p.firstStep("engine", false)
	t0 := time.Now()
	ds := map[string][]time.Duration{}
	for i := range n {
		order := []string{"plain", "engine"}
		if i%2 == 1 {
			order = []string{"engine", "plain"}
		}
		for _, kind := range order {
			ds[kind] = append(ds[kind], p.firstStep(kind, true))
		}
	}
	p.b.Logf("latency: %d runs of each kind, one at a time, in %s", n, time.Since(t0).Round(time.Millisecond))
	for _, kind := range []string{"engine", "plain"} {
		d := ds[kind]
		slices.Sort(d)
		over := 0
		for _, x := range d {
			if x >= 10*time.Millisecond {
				over++
			}
		}
		p.b.Logf("%s: %d of %d runs reached their first step in 10 ms or more", kind, over, len(d))
	}
	return ds
}

// rounds warms both kinds, then runs rounds rounds of runs runs of each
// kind at once, alternating which kind goes first (plain, engine;
// engine, plain; ...): the server slows as its tables grow, and a fixed
// order would charge that to the kind that always goes second. It
// returns the runs per second of each kind over all rounds.
func (p *enginePlain) rounds(rounds, runs int) (engineRate, plainRate float64) {
	p.throughput("plain", runs)
	p.throughput("engine", runs)
	var plainTime, engineTime time.Duration
	for i := range rounds {
		order := []string{"plain", "engine"}
		if i%2 == 1 {
			order = []string{"engine", "plain"}
		}
		for _, kind := range order {
			d := p.throughput(kind, runs)
			p.b.Logf("round %d: %s %.1f runs/s", i+1, kind, float64(runs)/d.Seconds())
			if kind == "plain" {
				plainTime += d
			} else {
				engineTime += d
			}
		}
	}
	return float64(rounds*runs) / engineTime.Seconds(), float64(rounds*runs) / plainTime.Seconds()
}

// percentile is the p-th percentile (0-100) of sorted ds.
func percentile(ds []time.Duration, p int) time.Duration {
	return ds[len(ds)*p/100]
}

// BenchmarkEngineVersusPlain runs the five-step definition through the
// engine and the hand-written workflow side by side on one server:
// throughput with BENCH_RUNS (default 200) runs in flight at once, over
// BENCH_ROUNDS (default 4) rounds in alternating order, and the
// latency from start to the first step for runs started one at a time
// (BENCH_LATENCY_RUNS, default 100, each started when the one before has
// ended, or BENCH_LATENCY_GAP_MS after that), with eager workflow start
// and eager activity dispatch on; BENCH_LATENCY_ONLY=1 measures that
// alone. The server is an in-process one (SQLite in memory), or the one
// at BENCH_ADDRESS (the dev server of `make run`: SQLite files). Run it
// with `make bench`.
func BenchmarkEngineVersusPlain(b *testing.B) {
	c := benchClient(b)
	p := newEnginePlain(b, c, fmt.Sprintf("bench-%d", time.Now().UnixNano()))
	w := worker.New(c, p.queue, worker.Options{})
	// The engine mirrors into a Redis of its own, as a worker with
	// REDIS_URL does; BENCH_NO_REDIS measures it without one.
	project := projection.Discard
	if os.Getenv("BENCH_NO_REDIS") == "" {
		project = benchWriter(b).Project
	}
	p.register(w, project)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	runs := envInt("BENCH_RUNS", 200)
	latencyRuns := envInt("BENCH_LATENCY_RUNS", 100)
	ctx := context.Background()
	latencies := func() {
		ds := p.latencies(latencyRuns)
		for _, kind := range []string{"engine", "plain"} {
			b.ReportMetric(ms(percentile(ds[kind], 50)), kind+"-first-step-p50-ms")
			b.ReportMetric(ms(percentile(ds[kind], 99)), kind+"-first-step-p99-ms")
		}
	}

	for b.Loop() {
		if os.Getenv("BENCH_LATENCY_ONLY") != "" {
			latencies()
			continue
		}
		if only := os.Getenv("BENCH_ONLY"); only != "" {
			// For profiling one kind: its throughput alone.
			p.throughput(only, runs)
			d := p.throughput(only, runs)
			b.ReportMetric(float64(runs)/d.Seconds(), only+"-runs/s")
			continue
		}
		// Latency first: a run started alone on a server that is not still
		// digesting thousands of runs (their visibility writes, and the
		// timers of their activities, which fire a minute later). After
		// the throughput rounds its p99 was 2-4 ms higher (BENCHMARKS.md).
		latencies()
		engineRate, plainRate := p.rounds(envInt("BENCH_ROUNDS", 4), runs)
		b.ReportMetric(engineRate, "engine-runs/s")
		b.ReportMetric(plainRate, "plain-runs/s")
		b.ReportMetric(engineRate/plainRate, "throughput-ratio")
		for _, kind := range []string{"engine", "plain"} {
			n, err := historyLength(ctx, c, p.lastRun[kind])
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n), kind+"-events/run")
		}
	}
}

// historyLength counts the events of a closed run's history.
func historyLength(ctx context.Context, c client.Client, run client.WorkflowRun) (int, error) {
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// benchWriter is a projection writer over a redis-server of the
// benchmark's own.
func benchWriter(b *testing.B) *projection.Writer {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 64})
	b.Cleanup(func() { _ = rdb.Close() })
	return projection.NewWriter(rdb, projection.Options{})
}

// benchClient connects to BENCH_ADDRESS when it is set, else to the
// package's in-process server.
func benchClient(b *testing.B) client.Client {
	addr := os.Getenv("BENCH_ADDRESS")
	if addr == "" {
		return sharedServer(b).GetDefaultClient()
	}
	c, err := client.Dial(client.Options{
		HostPort: addr,
		Logger:   quietLogger{},
		ConnectionOptions: client.ConnectionOptions{
			DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(rpcs.intercept)},
		},
	})
	if err != nil {
		b.Fatalf("BENCH_ADDRESS %s: %v (start a dev server with make run)", addr, err)
	}
	b.Cleanup(c.Close)
	return c
}

// rpcLog takes slow runs apart when BENCH_TRACE names a file: for each
// counted run of the latency measurement that reaches its first step in
// 10 ms or more, it appends to the file the client's calls (start,
// milliseconds after the run's start, and duration) and when the first
// step ran. The calls are seen only against BENCH_ADDRESS, whose client
// it intercepts, and recorded only while a run of the latency
// measurement is under way.
type rpcLog struct {
	file      string
	mu        sync.Mutex
	recording bool
	events    []string
	since     time.Time
}

var rpcs = rpcLog{file: os.Getenv("BENCH_TRACE")}

// start begins the record of one run.
func (l *rpcLog) start() {
	if l.file == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = l.events[:0]
	l.since = time.Now()
	l.recording = true
}

// stop ends the record of the run.
func (l *rpcLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recording = false
}

// note records an event of the run.
func (l *rpcLog) note(format string, args ...any) {
	if l.file == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recording {
		l.events = append(l.events, fmt.Sprintf("%6.2f ", ms(time.Since(l.since)))+fmt.Sprintf(format, args...))
	}
}

// write appends the record of a slow run to the file.
func (l *rpcLog) write(kind string, d time.Duration, t0 time.Time) error {
	l.note("first step after %.2f ms", ms(d))
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s run started at %s, first step after %s:\n%s\n\n", kind, t0.Format("15:04:05.000000"), d, strings.Join(l.events, "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// intercept records each call the client makes while a run is recorded,
// but the workers' long polls.
func (l *rpcLog) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if l.file == "" || strings.Contains(method, "Poll") {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	t := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	l.mu.Lock()
	if l.recording && !t.Before(l.since) {
		l.events = append(l.events, fmt.Sprintf("%6.2f %6.2f %s", ms(t.Sub(l.since)), ms(time.Since(t)), method[strings.LastIndex(method, "/")+1:]))
	}
	l.mu.Unlock()
	return err
}

// quietLogger keeps the SDK's per-run logs out of the benchmark's output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
