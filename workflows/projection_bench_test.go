package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// projectionBench is a worker that mirrors into a redis-server of the
// benchmark's own, with the five-step plan.
type projectionBench struct {
	c     client.Client
	rdb   *redis.Client
	queue string
	plan  *definition.Plan
}

func newProjectionBench(b *testing.B) *projectionBench {
	b.Helper()
	c := benchClient(b)
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 64})
	b.Cleanup(func() { _ = rdb.Close() })
	queue := fmt.Sprintf("bench-projection-%d", time.Now().UnixNano())
	reg := activities.NewRegistry()
	reg.MustRegister("noop", func(context.Context, contract.StepInput) (any, error) { return nil, nil })
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	writer := projection.NewWriter(rdb, projection.Options{})
	// The writer, timed: the local activity's ScheduledTime is the
	// moment the run's projector asked for the write, right after the
	// workflow code made the batch's transitions.
	projection.Register(w, func(ctx context.Context, pb contract.ProjectionBatch) (contract.ProjectionResult, error) {
		res, err := writer.Project(ctx, pb)
		if err == nil && len(pb.Records) > 0 {
			lags.add(len(pb.Records), time.Since(activity.GetInfo(ctx).ScheduledTime))
		}
		return res, err
	})
	activities.NewRunner(reg, activities.RunnerOptions{}).Register(w)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	return &projectionBench{c: c, rdb: rdb, queue: queue, plan: fiveStepPlan(b)}
}

func (p *projectionBench) start(ctx context.Context, b *testing.B, id string) client.WorkflowRun {
	run, err := p.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: p.queue},
		contract.WorkflowType, workflows.NewInput(p.plan, nil))
	if err != nil {
		b.Fatal(err)
	}
	return run
}

// waitingRun is a definition whose run stops after one step and waits
// for a signal: the progress of a run at work, which its worker holds
// in its cache, as a caller would read it.
const waitingRun = `
workflow_id: waiting
initial_step: s1
steps:
  - {name: s1, action: noop, next: hold}
  - {name: hold, wait: {signal: go}}
`

// BenchmarkProjectionRead reads the progress of a run that waits for a
// signal BENCH_READS (default 2000) times each way, in alternating
// blocks of 100: from Redis with the package's Reader (one HGETALL,
// decoded into the progress JSON's struct) and through Temporal with the
// progress query, and reports p50 and p99 of both and the ratio of the
// p50s. `make bench` runs it.
func BenchmarkProjectionRead(b *testing.B) {
	p := newProjectionBench(b)
	ctx := context.Background()
	doc, err := definition.Parse("waiting.yaml", []byte(waitingRun))
	if err != nil {
		b.Fatal(err)
	}
	waiting, err := definition.Compile(doc, definition.Options{})
	if err != nil {
		b.Fatal(err)
	}
	id := fmt.Sprintf("bench-read-%d", time.Now().UnixNano())
	run, err := p.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: p.queue},
		contract.WorkflowType, workflows.NewInput(waiting, nil))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.c.TerminateWorkflow(ctx, id, run.GetRunID(), "benchmark done") }()
	reader := projection.NewReader(p.rdb, projection.Options{})
	for {
		got, err := reader.Progress(ctx, id)
		if err == nil && got.Status == "WAITING" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fromRedis := func() error {
		_, err := reader.Progress(ctx, id)
		return err
	}
	fromTemporal := func() error {
		v, err := p.c.QueryWorkflow(ctx, id, "", contract.QueryProgress)
		if err != nil {
			return err
		}
		var got contract.Progress
		return v.Get(&got)
	}
	reads := envInt("BENCH_READS", 2000)
	for b.Loop() {
		ds := map[string][]time.Duration{}
		const block = 100
		for i := range (reads + block - 1) / block {
			order := []string{"redis", "temporal"}
			if i%2 == 1 {
				order = []string{"temporal", "redis"}
			}
			for _, kind := range order {
				read := fromRedis
				if kind == "temporal" {
					read = fromTemporal
				}
				for range block {
					t0 := time.Now()
					if err := read(); err != nil {
						b.Fatal(err)
					}
					ds[kind] = append(ds[kind], time.Since(t0))
				}
			}
		}
		for _, kind := range []string{"redis", "temporal"} {
			slices.Sort(ds[kind])
			b.ReportMetric(float64(ds[kind][len(ds[kind])/2].Microseconds()), kind+"-p50-µs")
			b.ReportMetric(float64(ds[kind][len(ds[kind])*99/100].Microseconds()), kind+"-p99-µs")
		}
		mid := len(ds["redis"]) / 2
		b.ReportMetric(float64(ds["temporal"][mid])/float64(ds["redis"][mid]), "p50-ratio")
	}
}

// BenchmarkProjectionLag starts BENCH_RUNS (default 200) five-step runs
// at once and measures the projection's lag for every history record
// they make: from the transition in the workflow (the moment the run's
// projector schedules the write, which it does as soon as the workflow
// code that made the transitions blocks) to the end of the write that
// made the record visible in Redis. For comparison it also reports the
// lag from the record's own time (`at`, workflow time: the start of the
// workflow task that made it) to its arrival on the run's events
// channel, which adds the workflow task's own processing on a loaded
// worker, as a plain workflow's commands would also wait.
func BenchmarkProjectionLag(b *testing.B) {
	p := newProjectionBench(b)
	ctx := context.Background()
	runs := envInt("BENCH_RUNS", 200)
	for b.Loop() {
		lags.take()
		sub := p.rdb.PSubscribe(ctx, "wf:*:events")
		if _, err := sub.Receive(ctx); err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		var fromAt []time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			for msg := range sub.Channel(redis.WithChannelSize(10000)) {
				now := time.Now()
				var rec statemachine.Record
				if err := json.Unmarshal([]byte(msg.Payload), &rec); err != nil {
					continue
				}
				mu.Lock()
				fromAt = append(fromAt, now.Sub(rec.At))
				mu.Unlock()
			}
		}()
		var wg sync.WaitGroup
		prefix := fmt.Sprintf("bench-lag-%d", time.Now().UnixNano())
		for i := range runs {
			run := p.start(ctx, b, fmt.Sprintf("%s-%d", prefix, i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := run.Get(ctx, nil); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		time.Sleep(200 * time.Millisecond) // the last messages in flight
		_ = sub.Close()
		<-done
		ds := lags.take()
		mu.Lock()
		slices.Sort(fromAt)
		mu.Unlock()
		if len(ds) == 0 || len(fromAt) == 0 {
			b.Fatal("no record reached Redis")
		}
		b.Logf("%d records written, %d received on the events channels, from %d runs", len(ds), len(fromAt), runs)
		b.ReportMetric(ms(ds[len(ds)/2]), "lag-p50-ms")
		b.ReportMetric(ms(ds[len(ds)*99/100]), "lag-p99-ms")
		b.ReportMetric(ms(fromAt[len(fromAt)/2]), "from-task-start-p50-ms")
		b.ReportMetric(ms(fromAt[len(fromAt)*99/100]), "from-task-start-p99-ms")
	}
}

// projectionLags collects, for each record written, how long after the
// transition it was in Redis.
type projectionLags struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *projectionLags) add(records int, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range records {
		l.ds = append(l.ds, d)
	}
}

func (l *projectionLags) take() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	ds := l.ds
	l.ds = nil
	slices.Sort(ds)
	return ds
}

var lags projectionLags
