package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// mirrored is a bundle whose worker writes a real Redis, and a plain
// client that reads it as an outside caller would.
func mirrored(t *testing.T) (*bundle, *redistest.Server, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	b := setup(t)
	wdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialerRetries: 1}) // as projection.Config.WriterClient
	t.Cleanup(func() { _ = wdb.Close() })
	b.project = projection.NewWriter(wdb, projection.Options{}).Project
	return b, srv, rdb
}

const mirroredDefinition = `
workflow_id: mirrored
initial_step: receive
steps:
  - name: receive
    action: log
    params: {message: received}
    next: both
  - name: both
    type: parallel
    branches: [left, right]
    next: pause
  - name: left
    action: log
    params: {message: left}
  - name: right
    action: log
    params: {message: right}
  - name: pause
    wait: {duration: 1s}
    next: child
  - name: child
    workflow: {file: child.yaml}
    next: done
  - name: done
    type: succeed
`

const mirroredChild = `
workflow_id: child
initial_step: one
steps:
  - name: one
    action: log
    params: {message: one}
    next: two
  - name: two
    action: log
    params: {message: two}
`

// After a run, the run's hash and list in Redis hold exactly what its
// progress and history queries return, for the run and its sub-workflow,
// read with HGETALL and LRANGE; the events channel carried every record
// once, in order.
func TestProjectionHoldsWhatTheQueriesReturn(t *testing.T) {
	t.Parallel()
	b, _, rdb := mirrored(t)
	b.startWorker()
	plan := b.plan(mirroredDefinition, map[string]string{"child.yaml": mirroredChild})
	in := workflows.NewInput(plan, map[string]any{"order": "o-1"})
	id := fmt.Sprintf("%s-mirror", b.queue)
	sub := rdb.Subscribe(b.ctx, "wf:{"+id+"}:events")
	defer sub.Close()
	_, err := sub.Receive(b.ctx) // the subscription is in place
	require.NoError(t, err)

	run, err := b.client.ExecuteWorkflow(b.ctx, client.StartWorkflowOptions{ID: id, TaskQueue: b.queue}, contract.WorkflowType, in)
	require.NoError(t, err)
	p, h, err := b.finish(run)
	require.NoError(t, err)
	require.Equal(t, "COMPLETE", p.Status)

	requireMirror(t, b, rdb, id)
	requireMirror(t, b, rdb, id+"/child")

	var seen []uint64
	for len(seen) < len(h) {
		msg, err := sub.ReceiveMessage(b.ctx)
		require.NoError(t, err)
		var rec statemachine.Record
		require.NoError(t, json.Unmarshal([]byte(msg.Payload), &rec))
		seen = append(seen, rec.Seq)
	}
	require.Equal(t, seqs(h), seen, "each record published once, in order")

	score, err := rdb.ZScore(b.ctx, "wf:index", id).Result()
	require.NoError(t, err)
	require.Equal(t, float64(p.UpdatedAt.UnixMilli()), score)
	ttl, err := rdb.PTTL(b.ctx, "wf:{"+id+"}").Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 23*time.Hour)
	require.LessOrEqual(t, ttl, 24*time.Hour)
}

// requireMirror compares the run's keys with its queries.
func requireMirror(t *testing.T, b *bundle, rdb *redis.Client, id string) {
	t.Helper()
	v, err := b.client.QueryWorkflow(b.ctx, id, "", contract.QueryProgress)
	require.NoError(t, err)
	var progress map[string]any
	require.NoError(t, v.Get(&progress))
	want := map[string]string{}
	for k, val := range progress {
		switch val := val.(type) {
		case string:
			want[k] = val
		case bool:
			want[k] = strconv.FormatBool(val)
		case float64:
			want[k] = strconv.FormatFloat(val, 'f', -1, 64)
		default:
			data, err := json.Marshal(val)
			require.NoError(t, err)
			want[k] = string(data)
		}
	}
	got, err := rdb.HGetAll(b.ctx, "wf:{"+id+"}").Result()
	require.NoError(t, err)
	require.Equal(t, want, got, "HGETALL wf:{%s}", id)

	v, err = b.client.QueryWorkflow(b.ctx, id, "", contract.QueryHistory)
	require.NoError(t, err)
	var history []any
	require.NoError(t, v.Get(&history))
	list, err := rdb.LRange(b.ctx, "wf:{"+id+"}:history", 0, -1).Result()
	require.NoError(t, err)
	var stored []any
	for _, entry := range list {
		var rec any
		require.NoError(t, json.Unmarshal([]byte(entry), &rec))
		stored = append(stored, rec)
	}
	require.Equal(t, history, stored, "LRANGE wf:{%s}:history", id)
}

func seqs(h []statemachine.Record) []uint64 {
	out := make([]uint64, len(h))
	for i, r := range h {
		out[i] = r.Seq
	}
	return out
}

// A run whose worker is replaced in the middle (the new worker replays
// the history) and whose step fails twice before it succeeds writes each
// record once: the list is 1..N without a gap or a repeat.
func TestProjectionWritesNothingTwice(t *testing.T) {
	t.Parallel()
	b, _, rdb := mirrored(t)
	var attempts atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	require.NoError(t, b.reg.Register("flaky", func(ctx context.Context, in contract.StepInput) (any, error) {
		if attempts.Add(1) <= 2 {
			return nil, fmt.Errorf("not yet")
		}
		return "ok", nil
	}))
	require.NoError(t, b.reg.Register("hold", func(ctx context.Context, in contract.StepInput) (any, error) {
		once.Do(func() { close(release) })
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return nil, nil
	}))
	plan := b.plan(`
workflow_id: twice
initial_step: a
steps:
  - name: a
    action: flaky
    retry: {initial_interval: 100ms, maximum_attempts: 5}
    next: b
  - name: b
    action: hold
    next: c
  - name: c
    action: log
    params: {message: c}
`)
	stop := b.startWorker()
	run := b.start(plan, nil)
	<-release
	stop() // the step "b" is running; a new worker takes the run over
	b.startWorker()
	_, h, err := b.finish(run)
	require.NoError(t, err)
	requireContiguous(t, h)
	requireMirror(t, b, rdb, run.GetID())
	list, err := rdb.LRange(b.ctx, "wf:{"+run.GetID()+"}:history", 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, list, len(h))
}

// While Redis is down the steps go on; when it answers again the mirror
// is exact. The run ends while Redis is still down, so its last records
// reach Redis through the bounded flush at the end.
func TestProjectionCatchesUpAfterAnOutage(t *testing.T) {
	t.Parallel()
	b, srv, rdb := mirrored(t)
	started := make(chan struct{})
	var once sync.Once
	require.NoError(t, b.reg.Register("tick", func(ctx context.Context, in contract.StepInput) (any, error) {
		once.Do(func() { close(started) })
		return in.Step, nil
	}))
	plan := b.plan(`
workflow_id: outage
initial_step: s1
steps:
  - {name: s1, action: tick, next: s2}
  - {name: s2, wait: {duration: 2s}, next: s3}
  - {name: s3, action: tick, next: s4}
  - {name: s4, action: tick, next: s5}
  - {name: s5, wait: {duration: 1s}, next: s6}
  - {name: s6, action: tick}
`)
	b.startWorker()
	run := b.start(plan, nil)
	<-started
	srv.Stop()
	// The run moves on without Redis: it reaches s5 or later.
	require.Eventually(t, func() bool {
		return b.progress(run).CompletedSteps >= 4
	}, time.Minute, 50*time.Millisecond)
	time.Sleep(2 * time.Second)
	srv.Start()
	_, h, err := b.finish(run)
	require.NoError(t, err)
	require.Equal(t, statemachine.Complete, h[len(h)-1].To)
	requireMirror(t, b, rdb, run.GetID())
}

// Runs record the projector's markers in their history: fixtures for the
// replay test, one started by NewInput, one by a hand-written input that
// names no projection (decided by a version marker).
func TestProjectionFixtures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorker()
	plan := b.load("../examples/sequential.yaml")
	run := b.start(plan, map[string]any{"order_id": "o-7"})
	_, _, err := b.finish(run)
	require.NoError(t, err)
	events := b.events(run.GetID(), run.GetRunID())
	markers := 0
	for _, e := range events {
		if e.GetMarkerRecordedEventAttributes() != nil {
			markers++
		}
	}
	require.Positive(t, markers, "the projector records a local activity marker")
	b.record("projection-sequential", run.GetID(), run.GetRunID())

	hand := b.start(plan, map[string]any{"order_id": "o-8"}, func(in *workflows.Input) { in.Projection = 0 })
	_, h, err := b.finish(hand)
	require.NoError(t, err)
	require.Equal(t, statemachine.Complete, h[len(h)-1].To)
	require.True(t, slices.ContainsFunc(b.events(hand.GetID(), hand.GetRunID()), func(e *historypb.HistoryEvent) bool {
		return e.GetMarkerRecordedEventAttributes().GetMarkerName() == "Version"
	}), "an input without projection is decided by a version marker")
	b.record("projection-marker", hand.GetID(), hand.GetRunID())
}
