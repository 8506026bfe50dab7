package workflows_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/host/devserver"
	"github.com/statedriven/statedriven/projection"
	starter "github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// The runs the scale benchmark holds open: half wait for a signal, half
// on a timer far beyond the benchmark; either way the run's worker keeps
// it in its cache.
const (
	heldOnSignal = `
workflow_id: held-signal
initial_step: hold
steps:
  - {name: hold, wait: {signal: go}, next: done}
  - {name: done, action: noop}
`
	heldOnTimer = `
workflow_id: held-timer
initial_step: nap
steps:
  - {name: nap, wait: {duration: 24h}, next: done}
  - {name: done, action: noop}
`
)

// devServerEnv, set to a folder, makes the test binary a dev server on
// SQLite files in that folder (see TestMain).
const devServerEnv = "STATEDRIVEN_BENCH_DEV_SERVER"

// serveDevServer runs the dev server as `--dev` runs it (SQLite files,
// the dev mode's garbage collector settings) on a free port, writes
// "ADDRESS NAMESPACE" on a line of standard output, and serves until
// standard input closes or the process is told to stop.
func serveDevServer(dir string) int {
	devserver.TuneGC(nil)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	s, err := devserver.Start(start, devserver.Options{DataDir: dir, UIPort: devserver.NoUI})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s %s\n", s.FrontendAddress(), s.Namespace())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// devServerProcess starts the dev server in a process of its own, on
// SQLite files in a new folder, so that the benchmark's process holds
// the worker alone and its memory is the worker's. It returns the
// server's address, namespace and process ID; the server stops when the
// benchmark ends.
func devServerProcess(b *testing.B) (address, namespace string, pid int) {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), devServerEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	errs := &strings.Builder{}
	cmd.Stderr = errs
	// BENCH_SERVER_GCTRACE=FILE: the server's collections, one line
	// each, in FILE.
	if name := os.Getenv("BENCH_SERVER_GCTRACE"); name != "" {
		f, err := os.Create(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = f.Close() })
		cmd.Stderr = f
		cmd.Env = append(cmd.Env, "GODEBUG=gctrace=1")
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	fields := strings.Fields(line)
	if err != nil || len(fields) != 2 {
		b.Fatalf("dev server process: %q, %v: %s", line, err, errs.String())
	}
	return fields[0], fields[1], cmd.Process.Pid
}

// scaleClient connects to BENCH_ADDRESS (a dev server of `make run`)
// when it is set, else to a dev server process of the benchmark's own;
// pid is the server's process, 0 when it is not the benchmark's.
func scaleClient(b *testing.B) (c client.Client, pid int) {
	b.Helper()
	address, namespace := os.Getenv("BENCH_ADDRESS"), "default"
	if address == "" {
		address, namespace, pid = devServerProcess(b)
	}
	c, err := client.Dial(client.Options{HostPort: address, Namespace: namespace, Logger: quietLogger{}})
	if err != nil {
		b.Fatalf("dev server %s: %v", address, err)
	}
	b.Cleanup(c.Close)
	return c, pid
}

// waiting records the runs whose projection has said WAITING: a held
// run has reached its wait once its worker wrote so.
type waiting struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (w *waiting) wrap(project projection.ProjectFunc) projection.ProjectFunc {
	return func(ctx context.Context, pb contract.ProjectionBatch) (contract.ProjectionResult, error) {
		if pb.Progress.Status == statemachine.Waiting.String() {
			w.mu.Lock()
			w.ids[pb.Progress.WorkflowID] = true
			w.mu.Unlock()
		}
		return project(ctx, pb)
	}
}

func (w *waiting) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ids)
}

// phase is what the engine-versus-plain pair measured in one state of
// the server: the first step's latency (sorted, per kind) and the runs
// per second of each kind in bursts.
type phase struct {
	first                 map[string][]time.Duration
	engineRate, plainRate float64
}

func (f phase) ratio() float64 { return f.engineRate / f.plainRate }

// memory is the process's memory after a full collection.
type memory struct {
	heapInuse, stackInuse uint64
	goroutines            int
	rss, serverRSS        uint64
}

// measureMemory collects garbage (twice: finalizers free more on the
// second) and returns the memory still in use, and the resident sizes
// of this process and of the server's (pid; 0 for none).
func measureMemory(pid int) memory {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memory{heapInuse: ms.HeapInuse, stackInuse: ms.StackInuse, goroutines: runtime.NumGoroutine(), rss: residentSize("self")}
	if pid != 0 {
		m.serverRSS = residentSize(strconv.Itoa(pid))
	}
	return m
}

// residentSize is VmRSS of /proc/PROC/status in bytes, 0 where there is
// no /proc.
func residentSize(proc string) uint64 {
	data, err := os.ReadFile("/proc/" + proc + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// inParallel calls f(i) for i in [0, n) on at most width goroutines.
func inParallel(n, width int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(width, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func mustCompile(b *testing.B, name, yaml string) *definition.Plan {
	b.Helper()
	doc, err := definition.Parse(name+".yaml", []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := definition.Compile(doc, definition.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return plan
}

// BenchmarkScale holds BENCH_HELD (default 5000) runs open on the dev
// server (half waiting for a signal, half on a 24-hour timer) and
// measures the engine against the hand-written workflow, as
// BenchmarkEngineVersusPlain does, with none held and then while they
// are held: the first step's latency (BENCH_LATENCY_RUNS, default 100,
// one at a time) and the throughput of BENCH_PROGRESS (default 500) runs
// at once over BENCH_ROUNDS (default 2) rounds. It reports the ratios of
// the two, the worker's memory per held run, and how many runs failed,
// held or progressing; then it releases the held runs (a signal, or
// Temporal's cancel) and counts how they end. The server is a dev
// server (SQLite files, the dev mode's settings) in a process of its
// own, or the one at BENCH_ADDRESS; the worker's sticky cache holds
// BENCH_CACHE runs (default the SDK's 10,000, which the worker leaves as
// it is). Run it with `make bench-scale`; figures in BENCHMARKS.md.
func BenchmarkScale(b *testing.B) {
	held := envInt("BENCH_HELD", 5000)
	progress := envInt("BENCH_PROGRESS", 500)
	rounds := envInt("BENCH_ROUNDS", 2)
	latencyRuns := envInt("BENCH_LATENCY_RUNS", 100)
	width := envInt("BENCH_START_CONCURRENCY", 32)
	cache := envInt("BENCH_CACHE", 10_000)
	// Shared by the process's workers, and fixed when the first one is
	// made: run this benchmark alone (-bench Scale) for it to apply.
	worker.SetStickyWorkflowCacheSize(cache)

	c, serverPID := scaleClient(b)
	p := newEnginePlain(b, c, fmt.Sprintf("bench-scale-%d", time.Now().UnixNano()))
	p.countFailures = true
	w := worker.New(c, p.queue, worker.Options{})
	// No Redis, as a worker started without REDIS_URL: the projection
	// only tells the benchmark when a held run waits.
	wait := &waiting{ids: map[string]bool{}}
	p.register(w, wait.wrap(projection.Discard))
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	plans := []*definition.Plan{mustCompile(b, "held-signal", heldOnSignal), mustCompile(b, "held-timer", heldOnTimer)}
	ctx := context.Background()

	measure := func(label string) phase {
		progressf("%s: measuring", label)
		f := phase{first: p.latencies(latencyRuns)}
		progressf("%s: latency measured; %d rounds of %d runs at once", label, rounds, progress)
		f.engineRate, f.plainRate = p.rounds(rounds, progress)
		b.Logf("%s: first step p50/p99 engine %.1f/%.1f ms, plain %.1f/%.1f ms; engine %.1f runs/s, plain %.1f runs/s, ratio %.3f",
			label, ms(percentile(f.first["engine"], 50)), ms(percentile(f.first["engine"], 99)),
			ms(percentile(f.first["plain"], 50)), ms(percentile(f.first["plain"], 99)), f.engineRate, f.plainRate, f.ratio())
		return f
	}

	for b.Loop() {
		idle := measure("none held")
		failedIdle := p.failed["engine"] + p.failed["plain"]
		before := measureMemory(serverPID)

		// Hold: start them BENCH_START_CONCURRENCY at a time, as
		// `starter run` starts a run, and wait until each waits.
		t0 := time.Now()
		ids := make([]string, held)
		inParallel(held, width, func(i int) {
			ids[i] = fmt.Sprintf("held-%d-%d", i, t0.UnixNano())
			plan := plans[i%2]
			if _, err := c.ExecuteWorkflow(ctx, starter.StartOptions(plan, ids[i], p.queue), contract.WorkflowType, workflows.NewInput(plan, nil)); err != nil {
				b.Errorf("start %s: %v", ids[i], err)
			}
		})
		if b.Failed() {
			b.FailNow()
		}
		started := time.Since(t0)
		progressf("%d held runs started in %s", held, started.Round(time.Millisecond))
		deadline, logged := time.Now().Add(30*time.Minute), time.Now()
		for wait.count() < held {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d held runs wait after %s", wait.count(), held, time.Since(t0))
			}
			time.Sleep(100 * time.Millisecond)
			if time.Since(logged) > 10*time.Second {
				progressf("%d of %d held runs wait", wait.count(), held)
				logged = time.Now()
			}
		}
		b.Logf("%d runs held: started in %s (%.0f/s, %d at a time), all waiting after %s",
			held, started.Round(time.Millisecond), float64(held)/started.Seconds(), width, time.Since(t0).Round(time.Millisecond))
		after := measureMemory(serverPID)

		busy := measure(fmt.Sprintf("%d held", held))
		failedBusy := p.failed["engine"] + p.failed["plain"] - failedIdle
		if b.Failed() {
			b.FailNow()
		}

		// None may have ended while held.
		var ended atomic.Int64
		inParallel(held, width, func(i int) {
			d, err := c.DescribeWorkflowExecution(ctx, ids[i], "")
			if err != nil {
				b.Errorf("describe %s: %v", ids[i], err)
				return
			}
			if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				ended.Add(1)
			}
		})

		progressf("releasing the held runs")
		// Release: a signal to those that wait for one, Temporal's
		// cancel to those on the timer; count how they end.
		t1 := time.Now()
		var completed, cancelled, failed atomic.Int64
		inParallel(held, width, func(i int) {
			var err error
			if i%2 == 0 {
				err = c.SignalWorkflow(ctx, ids[i], "", "go", nil)
			} else {
				err = c.CancelWorkflow(ctx, ids[i], "")
			}
			if err != nil {
				b.Errorf("release %s: %v", ids[i], err)
				return
			}
			var res workflows.Result
			err = c.GetWorkflow(ctx, ids[i], "").Get(ctx, &res)
			var canceled *temporal.CanceledError
			switch {
			case err == nil && res.State == statemachine.Complete && i%2 == 0:
				completed.Add(1)
			case errors.As(err, &canceled) && i%2 == 1:
				cancelled.Add(1)
			default:
				if failed.Add(1) == 1 {
					b.Logf("%s ended %s: %v", ids[i], res.State, err)
				}
			}
		})
		b.Logf("released in %s: %d completed, %d cancelled, %d failed; %d had ended while held",
			time.Since(t1).Round(time.Millisecond), completed.Load(), cancelled.Load(), failed.Load(), ended.Load())

		// The same again with none held: the server's tables have grown
		// by the runs of both measurements, which slows it apart from
		// what it holds.
		released := measure("released")

		perRun := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(held) / 1024 }
		b.Logf("worker memory: heap in use %.1f -> %.1f MiB, stacks %.1f -> %.1f MiB, goroutines %d -> %d, RSS %.1f -> %.1f MiB; server RSS %.1f -> %.1f MiB (sticky cache %d)",
			mib(before.heapInuse), mib(after.heapInuse), mib(before.stackInuse), mib(after.stackInuse), before.goroutines, after.goroutines,
			mib(before.rss), mib(after.rss), mib(before.serverRSS), mib(after.serverRSS), cache)
		b.ReportMetric(perRun(after.heapInuse+after.stackInuse, before.heapInuse+before.stackInuse), "worker-heap+stack-KiB/held")
		b.ReportMetric(perRun(after.heapInuse, before.heapInuse), "worker-heap-KiB/held")
		b.ReportMetric(perRun(after.rss, before.rss), "worker-rss-KiB/held")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(held), "goroutines/held")
		if serverPID != 0 {
			b.ReportMetric(perRun(after.serverRSS, before.serverRSS), "server-rss-KiB/held")
		}
		for _, kind := range []string{"engine", "plain"} {
			b.ReportMetric(ms(percentile(idle.first[kind], 99)), kind+"-p99-ms-idle")
			b.ReportMetric(ms(percentile(busy.first[kind], 99)), kind+"-p99-ms-held")
			b.ReportMetric(float64(percentile(busy.first[kind], 99))/float64(percentile(idle.first[kind], 99)), kind+"-p99-held/idle")
		}
		b.ReportMetric(ms(percentile(released.first["engine"], 99)), "engine-p99-ms-released")
		b.ReportMetric(released.ratio(), "throughput-ratio-released")
		b.ReportMetric(idle.ratio(), "throughput-ratio-idle")
		b.ReportMetric(busy.ratio(), "throughput-ratio-held")
		b.ReportMetric(busy.ratio()/idle.ratio(), "throughput-ratio-held/idle")
		b.ReportMetric(busy.engineRate/idle.engineRate, "engine-runs/s-held/idle")
		b.ReportMetric(float64(failedIdle), "progress-failed-idle")
		b.ReportMetric(float64(failedBusy), "progress-failed-held")
		b.ReportMetric(float64(ended.Load()), "held-ended-while-held")
		b.ReportMetric(float64(failed.Load()), "held-failed-on-release")
	}
}

// progressf says on standard error where the benchmark is: the
// benchmark's own log shows only at its end.
func progressf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s scale: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
