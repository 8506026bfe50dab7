package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/starter/internal/testserver"
)

// These tests run the starter's reads against a real redis-server that a
// real worker mirrors its runs into, beside the in-process Temporal
// server.

// mirrored is what a Redis test works with: a redis-server of its own, a
// worker that mirrors into it on a queue of its own, and the starter's
// environment pointing at it.
type mirrored struct {
	t          *testing.T
	ctx        context.Context
	redis      *redistest.Server
	rdb        *redis.Client
	queue      string
	env        map[string]string
	stopWorker func()
	c          *client.Client
}

func setupMirrored(t *testing.T) *mirrored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	queue := testserver.Queue(t)
	stop := testserver.WorkerWithRedis(t, queue, srv.URL())
	c, err := client.Dial(ctx, client.Config{Address: testserver.Address(t), Namespace: testserver.Namespace(t)})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return &mirrored{t: t, ctx: ctx, redis: srv, rdb: rdb, queue: queue, env: map[string]string{"REDIS_URL": srv.URL()}, stopWorker: stop, c: c}
}

// starter runs the starter with REDIS_URL set, against the in-process
// Temporal server.
func (m *mirrored) starter(args ...string) (code int, stdout, stderr string) {
	m.t.Helper()
	return runStarterEnv(m.t, m.env, append(args, "--address", testserver.Address(m.t), "--namespace", testserver.Namespace(m.t))...)
}

// start starts n runs of the definition in yaml at once and returns their
// IDs.
func (m *mirrored) start(yaml string, n int) []string {
	m.t.Helper()
	plan, err := definition.Load(definitionFile(m.t, yaml))
	require.NoError(m.t, err)
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	// Starts are sent 16 at a time: the in-process server times out a
	// few hundred at once on a loaded machine.
	slots := make(chan struct{}, 16)
	for i := range n {
		ids[i] = testserver.ID(m.t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			_, errs[i] = m.c.Start(m.ctx, client.StartRequest{Plan: plan, ID: ids[i], TaskQueue: m.queue})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(m.t, err)
	}
	return ids
}

// awaitAll waits until every run on the test's queue has ended, asking
// Temporal's visibility twice a second (a Wait per run would describe
// each run every second), and returns them by ID. Every run must have
// completed.
func (m *mirrored) awaitAll(ids []string) map[string]client.Execution {
	m.t.Helper()
	var runs []client.Execution
	require.Eventually(m.t, func() bool {
		open, err := m.c.List(m.ctx, "TaskQueue = '"+m.queue+"' AND ExecutionStatus = 'Running'", 1)
		if err != nil || len(open) > 0 {
			return false
		}
		runs, err = m.c.List(m.ctx, "TaskQueue = '"+m.queue+"'", 0)
		return err == nil && len(runs) >= len(ids)
	}, 5*time.Minute, 500*time.Millisecond, "the runs end")
	byID := make(map[string]client.Execution, len(runs))
	for _, r := range runs {
		byID[r.WorkflowID] = r
	}
	for _, id := range ids {
		require.Equal(m.t, "Completed", byID[id].Status, id)
	}
	return byID
}

// awaitSteps waits until the mirror of every run shows current_steps.
func (m *mirrored) awaitSteps(ids []string, steps string) {
	m.t.Helper()
	require.Eventually(m.t, func() bool {
		for _, id := range ids {
			got, err := m.rdb.HGet(m.ctx, "wf:{"+id+"}", "current_steps").Result()
			if err != nil || got != steps {
				return false
			}
		}
		return true
	}, 2*time.Minute, 50*time.Millisecond, "every run's mirror shows steps %s", steps)
}

// signal sends each run the go signal that its hold step waits for.
func (m *mirrored) signal(ids []string) {
	m.t.Helper()
	sdk := testserver.Client(m.t)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = sdk.SignalWorkflow(m.ctx, id, "", "go", nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(m.t, err)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// verifyAll runs projection verify --all over the test's own queue.
func (m *mirrored) verifyAll() (code int, stdout, stderr string) {
	m.t.Helper()
	return m.starter("projection", "verify", "--all", "--query", "TaskQueue = '"+m.queue+"'")
}

// requireContiguous checks with LRANGE that no history list holds a seq
// twice or skips one, and that each ends at its hash's seq.
func (m *mirrored) requireContiguous(ids []string) {
	m.t.Helper()
	for _, id := range ids {
		items, err := m.rdb.LRange(m.ctx, "wf:{"+id+"}:history", 0, -1).Result()
		require.NoError(m.t, err)
		require.NotEmpty(m.t, items, id)
		for i, item := range items {
			var r contract.Record
			require.NoError(m.t, json.Unmarshal([]byte(item), &r))
			require.Equal(m.t, uint64(i+1), r.Seq, "%s: entry %d", id, i)
		}
		seq, err := m.rdb.HGet(m.ctx, "wf:{"+id+"}", "seq").Uint64()
		require.NoError(m.t, err)
		require.Equal(m.t, uint64(len(items)), seq, id)
	}
}

const quickYAML = `
workflow_id: quick
initial_step: one
steps:
  - name: one
    action: log
    params: {message: one}
  - name: two
    action: log
    params: {message: two}
  - name: three
    action: log
    params: {message: three}
`

// progress and history read Redis by default, answer exactly what
// Temporal answers, go on answering without a worker, and fall back to
// Temporal for a run Redis does not have.
func TestReadsComeFromRedis(t *testing.T) {
	t.Parallel()
	m := setupMirrored(t)
	id := testserver.ID(t)
	// run --wait follows the run through Redis.
	code, out, errOut := m.starter("run", definitionFile(t, quickYAML), "--task-queue", m.queue, "--id", id, "--wait")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "COMPLETE")
	require.NotContains(t, errOut, "reading from Temporal")

	for _, args := range [][]string{{"progress", id, "--json"}, {"progress", id}, {"history", id, "--json"}, {"history", id}} {
		code, fromRedis, errOut := m.starter(args...)
		require.Equal(t, exitOK, code, errOut)
		require.Empty(t, errOut)
		code, fromTemporal, errOut := m.starter(append(args, "--source", "temporal")...)
		require.Equal(t, exitOK, code, errOut)
		require.Equal(t, fromTemporal, fromRedis, "%v: the same output whichever the source", args)
	}
	code, out, _ = m.starter("progress", id)
	require.Equal(t, exitOK, code)
	require.Equal(t, "COMPLETE 100% (3/3)\n", out)

	code, out, errOut = m.starter("status", id, "--json")
	require.Equal(t, exitOK, code, errOut)
	var v statusView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, sourceRedis, v.Source)
	require.Equal(t, "COMPLETE", v.State)
	require.Equal(t, "COMPLETE", v.Ended, "how it ended still comes from Temporal")
	require.Equal(t, "Completed", v.TemporalStatus)

	code, out, errOut = m.starter("list", "--json")
	require.Equal(t, exitOK, code, errOut)
	var rows []listRow
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 1)
	require.Equal(t, id, rows[0].WorkflowID)
	require.Equal(t, "COMPLETE", rows[0].State)
	require.NotNil(t, rows[0].UpdatedAt)
	require.Empty(t, rows[0].Status, "Redis does not know Temporal's status")
	code, out, _ = m.starter("list")
	require.Equal(t, exitOK, code)
	require.Regexp(t, `^WORKFLOW ID +STATE +PROGRESS +DEFINITION +UPDATED\n`+id+` +COMPLETE +100% +quick +\d{4}-`, out)

	// A run that Redis does not have is read from Temporal, with a note.
	plain := testserver.Queue(t)
	testserver.Worker(t, plain)
	other := testserver.ID(t)
	code, _, errOut = m.starter("run", definitionFile(t, quickYAML), "--task-queue", plain, "--id", other, "--wait")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, errOut, "starter: run "+other+" is not in Redis (expired, or never mirrored): reading from Temporal\n")
	for _, verb := range []string{"progress", "history", "status"} {
		code, out, errOut = m.starter(verb, other)
		require.Equal(t, exitOK, code, errOut)
		require.Equal(t, "starter: run "+other+" is not in Redis (expired, or never mirrored): reading from Temporal\n", errOut, verb)
		require.NotEmpty(t, out)
	}

	// Without a worker, Redis still answers; the workflow cannot.
	gated := testserver.ID(t)
	code, _, errOut = m.starter("run", definitionFile(t, gateYAML), "--task-queue", m.queue, "--id", gated)
	require.Equal(t, exitOK, code, errOut)
	require.Eventually(t, func() bool {
		_, out, _ := m.starter("progress", gated)
		return strings.HasPrefix(out, "REVIEW ")
	}, time.Minute, 50*time.Millisecond)
	m.stopWorker()
	code, out, errOut = m.starter("progress", gated)
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `^REVIEW 0% \(0/\d\) steps: check\n$`, out)
	code, out, errOut = m.starter("progress", gated, "--source", "temporal")
	require.Equal(t, exitFailed, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "did not answer the progress query")

	// Without Temporal at all, progress still answers, and status shows
	// what the mirror holds, saying why.
	nowhere := unusedAddress(t)
	code, out, errOut = runStarterEnv(t, m.env, "progress", gated, "--address", nowhere)
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `^REVIEW `, out)
	code, out, errOut = runStarterEnv(t, m.env, "status", gated, "--address", nowhere)
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `(?m)^state +REVIEW$`, out)
	require.Regexp(t, `(?m)^steps +check$`, out)
	require.Contains(t, out, "note: Temporal could not describe the run (cannot reach Temporal at "+nowhere)
	require.Contains(t, out, "this is what the Redis mirror holds")
	require.NotContains(t, out, "started", "Redis does not know the start")
}

// A Redis that does not answer: reads fall back to Temporal, saying so.
func TestReadsFallBackWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	m := setupMirrored(t)
	id := testserver.ID(t)
	code, _, errOut := m.starter("run", definitionFile(t, quickYAML), "--task-queue", m.queue, "--id", id, "--wait")
	require.Equal(t, exitOK, code, errOut)
	m.redis.Stop()
	code, out, errOut := m.starter("progress", id)
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, "COMPLETE 100% (3/3)\n", out)
	require.Regexp(t, `^starter: Redis at redis://127\.0\.0\.1:\d+/0 does not answer \(.*\): reading from Temporal\n$`, errOut)
	code, out, errOut = m.starter("list")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, errOut, "listing from Temporal")
	require.Contains(t, out, id)
}

const timedYAML = `
workflow_id: timed
initial_step: one
steps:
  - name: one
    action: log
    params: {message: one}
  - name: nap
    wait: {duration: 300ms}
  - name: two
    action: log
    params: {message: two}
  - name: rest
    wait: {duration: 300ms}
  - name: three
    action: log
    params: {message: three}
`

// watch follows the run's channel to the end, showing each change.
func TestWatchFollowsTheChannel(t *testing.T) {
	t.Parallel()
	m := setupMirrored(t)
	ids := m.start(timedYAML, 1)
	code, out, errOut := m.starter("watch", ids[0])
	require.Equal(t, exitOK, code, errOut)
	require.NotContains(t, errOut, "reading from Temporal")
	require.Regexp(t, `(?m)^COMPLETE 100% \((\d)/(\d)\)$`, errOut)
	require.Contains(t, errOut, "steps: nap\n", "a step shown between others: the channel carried it")
	require.Contains(t, out, "COMPLETE")
}

// followMirror needs nothing but Redis: records written to the run's
// channel are shown as they come, until the progress is terminal.
func TestFollowMirrorWithoutTemporal(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := projection.Config{URL: srv.URL()}
	rdb, err := cfg.Client()
	require.NoError(t, err)
	defer rdb.Close()
	w := projection.NewWriter(rdb, projection.Options{})
	r := projection.NewReader(rdb, projection.Options{})
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	write := func(seq uint64, status string, done int, steps ...string) {
		p := contract.Progress{WorkflowID: "wf-1", RunID: "r1", Definition: "d", Status: status, CurrentSteps: steps,
			CompletedSteps: done, TotalSteps: 2, ProgressPercentage: done * 50, IsComplete: status == "COMPLETE", UpdatedAt: at, Seq: seq}
		rec := contract.Record{Seq: seq, Step: "s", At: at}
		_, err := w.Write(ctx, contract.ProjectionBatch{Progress: p, Records: []contract.Record{rec}, Chain: "r1", Generation: 0, Task: int64(seq)})
		require.NoError(t, err)
	}
	write(1, "PROCESSING", 0, "a")
	d := &recorder{}
	type result struct {
		f   followed
		err error
	}
	ended := make(chan result, 1)
	go func() {
		f, err := followMirror(ctx, r, "wf-1", "", make(chan waited), d, mirrorTiming{reread: time.Hour, missing: time.Second})
		ended <- result{f, err}
	}()
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.events) == 1
	}, 10*time.Second, 5*time.Millisecond)
	write(2, "PROCESSING", 1, "b")
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.events) == 2
	}, 10*time.Second, 5*time.Millisecond)
	write(3, "COMPLETE", 2)
	res := <-ended
	require.NoError(t, res.err)
	require.Equal(t, "COMPLETE", res.f.last.Status)
	require.Equal(t, []string{"show PROCESSING 0% (0/2) steps: a", "show PROCESSING 50% (1/2) steps: b", "show COMPLETE 100% (2/2)"}, d.events)
}

// verify names each difference: a changed field, a changed record, a
// list that repeats a seq, a run Redis lacks and one Temporal lacks.
func TestVerifyReportsDifferences(t *testing.T) {
	t.Parallel()
	m := setupMirrored(t)
	ids := m.start(quickYAML, 3)
	m.awaitAll(ids)
	code, out, errOut := m.verifyAll()
	require.Equal(t, exitOK, code, out+errOut)
	require.Equal(t, "3 runs checked, no difference\n", out)

	require.NoError(t, m.rdb.HSet(m.ctx, "wf:{"+ids[0]+"}", "status", "FAILED").Err())
	first, err := m.rdb.LIndex(m.ctx, "wf:{"+ids[1]+"}:history", 0).Result()
	require.NoError(t, err)
	require.NoError(t, m.rdb.LSet(m.ctx, "wf:{"+ids[1]+"}:history", 1, first).Err())
	third, err := m.rdb.LIndex(m.ctx, "wf:{"+ids[1]+"}:history", 2).Result()
	require.NoError(t, err)
	var r contract.Record
	require.NoError(t, json.Unmarshal([]byte(third), &r))
	r.Reason = "tampered"
	changed, err := json.Marshal(r)
	require.NoError(t, err)
	require.NoError(t, m.rdb.LSet(m.ctx, "wf:{"+ids[1]+"}:history", 2, changed).Err())
	require.NoError(t, m.rdb.Del(m.ctx, "wf:{"+ids[2]+"}", "wf:{"+ids[2]+"}:history").Err())
	require.NoError(t, m.rdb.HSet(m.ctx, "wf:{stranger}", "workflow_id", "stranger", "run_id", "r", "definition", "d", "status", "PROCESSING",
		"current_steps", "[]", "progress_percentage", "0", "is_complete", "false", "completed_steps", "0", "total_steps", "1",
		"paused", "false", "error", "", "updated_at", time.Now().UTC().Format(time.RFC3339Nano), "seq", "1").Err())
	require.NoError(t, m.rdb.ZAdd(m.ctx, "wf:index", redis.Z{Score: float64(time.Now().UnixMilli()), Member: "stranger"}).Err())

	code, out, errOut = m.verifyAll()
	require.Equal(t, exitFailed, code, errOut)
	require.Contains(t, out, ids[0]+": 1 difference\n  progress status: redis \"FAILED\", temporal \"COMPLETE\"\n")
	require.Contains(t, out, ids[1]+": 4 differences\n"+
		"  history list repeats or reorders: seq 1 after seq 1\n"+
		"  history list skips seq 2\n"+
		"  history seq 3 differs: reason redis \"tampered\", temporal \"\"\n"+
		"  history missing from redis: seq 2\n")
	require.Contains(t, out, ids[2]+": 1 difference\n  not in redis (temporal is at seq ")
	require.Contains(t, out, "stranger: 1 difference\n  in redis (seq 1, PROCESSING) but Temporal has no run with this ID\n")
	require.Contains(t, out, "4 runs checked, 4 with differences (")

	code, out, errOut = m.starter("projection", "verify", ids[0], "--json")
	require.Equal(t, exitFailed, code)
	var checks []runCheck
	require.NoError(t, json.Unmarshal([]byte(out), &checks))
	require.Equal(t, []runCheck{{WorkflowID: ids[0], Differences: []string{`progress status: redis "FAILED", temporal "COMPLETE"`}}}, checks)
	require.Equal(t, "starter: 1 run checked, 1 with differences (1 in all)\n", errOut)
}

const napsYAML = `
workflow_id: naps
initial_step: hold
steps:
  - name: hold
    wait: {signal: go, timeout: 1h}
  - name: one
    action: log
    params: {message: one}
  - name: nap1
    wait: {duration: 2s}
  - name: two
    action: log
    params: {message: two}
  - name: nap2
    wait: {duration: 2s}
  - name: three
    action: log
    params: {message: three}
  - name: nap3
    wait: {duration: 2s}
  - name: four
    action: log
    params: {message: four}
`

// napYAML is a short run: it ends about 2 s after the signal, while
// Redis is away in the outage test.
const napYAML = `
workflow_id: nap
initial_step: hold
steps:
  - name: hold
    wait: {signal: go, timeout: 1h}
  - name: one
    action: log
    params: {message: one}
  - name: nap
    wait: {duration: 2s}
  - name: two
    action: log
    params: {message: two}
`

// Redis goes away for 4 s while 50 runs with timers are in flight, and
// comes back empty: the runs' writers see the gap and send their history
// again, and the mirror ends the same as Temporal without a rebuild. Ten
// of the runs are short and end while Redis is away: their final flush
// waits (up to 30 s, far longer than the outage) until it is back.
//
// The runs first wait for a signal, so that all of them are mirrored and
// then set off together: on a loaded machine their first workflow tasks
// are spread over many seconds, more than a run lasts.
func TestMirrorRecoversFromARedisOutage(t *testing.T) {
	// Not parallel: see TestVerifyAndRebuildManyRuns.
	m := setupMirrored(t)
	long, short := m.start(napsYAML, 40), m.start(napYAML, 10)
	ids := append(append([]string{}, long...), short...)
	m.awaitSteps(ids, `["hold"]`)

	// The short runs set off first; once they nap, Redis goes away for
	// four seconds, and the long ones set off.
	m.signal(short)
	m.awaitSteps(short, `["nap"]`)
	m.redis.Stop()
	down := time.Now()
	m.signal(long)
	time.Sleep(4 * time.Second) // the outage itself
	m.redis.Start()
	up := time.Now()

	outs := m.awaitAll(ids)
	var closedBefore, closedDuring, endedDuring int
	last := down
	for _, id := range ids {
		o := outs[id]
		switch {
		case o.Close.Before(down):
			closedBefore++
		case o.Close.Before(up):
			closedDuring++
		}
		last = maxTime(last, o.Close)
		// The run's terminal transition, by its own clock: a run whose
		// last step ended while Redis was away closes only once its final
		// flush has written (or after 30 s).
		h, err := m.c.History(m.ctx, id)
		require.NoError(t, err)
		if end := h[len(h)-1].At; end.After(down) && end.Before(up) {
			endedDuring++
		}
	}
	t.Logf("outage %s; runs that reached their end during it: %d (closed during it: %d, before it: %d); the last closed %s after Redis went away",
		up.Sub(down).Round(time.Millisecond), endedDuring, closedDuring, closedBefore, last.Sub(down).Round(time.Millisecond))
	require.Zero(t, closedBefore, "every run was in flight when Redis went away")

	code, out, errOut := m.verifyAll()
	require.Equal(t, exitOK, code, "verify without a rebuild:\n%s%s", out, errOut)
	require.Equal(t, "50 runs checked, no difference\n", out)
	m.requireContiguous(ids)
}

// 200 runs at once mirror exactly; after FLUSHALL verify sees every run
// missing, and rebuild --all restores them.
//
// Not parallel, nor is the outage test: on a small machine under the race
// detector, each loads the worker so much that the other's queries (which
// replay closed runs on the worker) wait past their timeout.
func TestVerifyAndRebuildManyRuns(t *testing.T) {
	m := setupMirrored(t)
	began := time.Now()
	ids := m.start(quickYAML, 200)
	m.awaitAll(ids)
	t.Logf("200 runs ended after %s", time.Since(began).Round(time.Millisecond))
	began = time.Now()
	code, out, errOut := m.verifyAll()
	t.Logf("verify took %s", time.Since(began).Round(time.Millisecond))
	require.Equal(t, exitOK, code, out+errOut)
	require.Equal(t, "200 runs checked, no difference\n", out)
	m.requireContiguous(ids)

	require.NoError(t, m.rdb.FlushAll(m.ctx).Err())
	code, out, _ = m.verifyAll()
	require.Equal(t, exitFailed, code)
	require.Contains(t, out, "200 runs checked, 200 with differences (200 in all)\n")
	require.Contains(t, out, ids[0]+": 1 difference\n  not in redis (temporal is at seq ")

	code, out, errOut = m.starter("projection", "rebuild", "--all", "--query", "TaskQueue = '"+m.queue+"'")
	require.Equal(t, exitOK, code, out+errOut)
	require.Contains(t, out, "200 runs rebuilt\n")
	require.Regexp(t, `(?m)^`+ids[0]+`: rewrote progress at seq \d+ and \d+ history records$`, out)

	code, out, errOut = m.verifyAll()
	require.Equal(t, exitOK, code, out+errOut)
	require.Equal(t, "200 runs checked, no difference\n", out)
	m.requireContiguous(ids)

	// Rebuilding a run whose mirror is up to date rewrites it the same.
	code, out, errOut = m.starter("projection", "rebuild", ids[0])
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "1 run rebuilt\n")
	code, _, _ = m.starter("projection", "verify", ids[0])
	require.Equal(t, exitOK, code)
}
