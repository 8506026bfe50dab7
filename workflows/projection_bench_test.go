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
	projection.Register(w, projection.NewWriter(rdb, projection.Options{}).Project)
	activities.NewRunner(reg, activities.RunnerOptions{}).Register(w)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	doc, err := definition.Parse("five-steps.yaml", []byte(fiveSteps))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := definition.Compile(doc, definition.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return &projectionBench{c: c, rdb: rdb, queue: queue, plan: plan}
}

func (p *projectionBench) start(ctx context.Context, b *testing.B, id string) client.WorkflowRun {
	run, err := p.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: p.queue},
		contract.WorkflowType, workflows.NewInput(p.plan, nil))
	if err != nil {
		b.Fatal(err)
	}
	return run
}

// BenchmarkProjectionRead reads one finished run's progress
// BENCH_READS (default 2000) times each way, alternating: from Redis
// with the package's Reader (one HGETALL, decoded into the progress
// JSON's struct) and through Temporal with the progress query, and
// reports p50 and p99 of both and the ratio of the p50s. `make bench`
// runs it.
func BenchmarkProjectionRead(b *testing.B) {
	p := newProjectionBench(b)
	ctx := context.Background()
	id := fmt.Sprintf("bench-read-%d", time.Now().UnixNano())
	if err := p.start(ctx, b, id).Get(ctx, nil); err != nil {
		b.Fatal(err)
	}
	reader := projection.NewReader(p.rdb, projection.Options{})
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
		for i := range reads {
			order := []string{"redis", "temporal"}
			if i%2 == 1 {
				order = []string{"temporal", "redis"}
			}
			for _, kind := range order {
				read := fromRedis
				if kind == "temporal" {
					read = fromTemporal
				}
				t0 := time.Now()
				if err := read(); err != nil {
					b.Fatal(err)
				}
				ds[kind] = append(ds[kind], time.Since(t0))
			}
		}
		for _, kind := range []string{"redis", "temporal"} {
			slices.Sort(ds[kind])
			b.ReportMetric(float64(ds[kind][len(ds[kind])/2].Microseconds()), kind+"-p50-µs")
			b.ReportMetric(float64(ds[kind][len(ds[kind])*99/100].Microseconds()), kind+"-p99-µs")
		}
		b.ReportMetric(float64(ds["temporal"][reads/2])/float64(ds["redis"][reads/2]), "p50-ratio")
	}
}

// BenchmarkProjectionLag starts BENCH_RUNS (default 200) five-step runs
// at once and measures, for every history record they make, the time
// from the record's moment in the workflow (its `at`: workflow time, the
// start of the workflow task that made it) to its arrival on the run's
// events channel, which the writer publishes in the same script that
// stores it. Reports p50 and p99.
func BenchmarkProjectionLag(b *testing.B) {
	p := newProjectionBench(b)
	ctx := context.Background()
	runs := envInt("BENCH_RUNS", 200)
	for b.Loop() {
		sub := p.rdb.PSubscribe(ctx, "wf:*:events")
		if _, err := sub.Receive(ctx); err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		var lags []time.Duration
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
				lags = append(lags, now.Sub(rec.At))
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
		mu.Lock()
		slices.Sort(lags)
		n := len(lags)
		mu.Unlock()
		if n == 0 {
			b.Fatal("no record arrived on the events channels")
		}
		b.Logf("%d records from %d runs", n, runs)
		b.ReportMetric(float64(lags[n/2].Microseconds())/1000, "lag-p50-ms")
		b.ReportMetric(float64(lags[n*99/100].Microseconds())/1000, "lag-p99-ms")
		b.ReportMetric(float64(lags[n-1].Microseconds())/1000, "lag-max-ms")
	}
}
