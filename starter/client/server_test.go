package client

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/starter/internal/testserver"
	"github.com/statedriven/statedriven/statemachine"
)

// These tests run the client against the in-process Temporal server, with
// the real workflow on a worker of the test's own task queue.

// bundle is what a server test works with.
type bundle struct {
	t     *testing.T
	ctx   context.Context
	c     *Client
	queue string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c, err := Dial(ctx, Config{Address: testserver.Address(t), Namespace: testserver.Namespace(t), Env: noFile(t, env{})})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return &bundle{t: t, ctx: ctx, c: c, queue: testserver.Queue(t)}
}

// plan compiles a definition given as YAML; files are other definitions
// it may name as sub-workflows.
func plan(t *testing.T, yaml string, files ...string) *definition.Plan {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(files); i += 2 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, files[i]), []byte(files[i+1]), 0o600))
	}
	path := filepath.Join(dir, "main.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	p, err := definition.Load(path)
	require.NoError(t, err)
	return p
}

func (b *bundle) start(p *definition.Plan) *Started {
	b.t.Helper()
	s, err := b.c.Start(b.ctx, StartRequest{Plan: p, ID: testserver.ID(b.t), TaskQueue: b.queue})
	require.NoError(b.t, err)
	require.Empty(b.t, s.Warning)
	return s
}

func (b *bundle) awaitState(id string, want statemachine.State) {
	b.t.Helper()
	require.Eventually(b.t, func() bool {
		s, err := b.c.State(b.ctx, id)
		return err == nil && s.State == want
	}, time.Minute, 20*time.Millisecond, "run %s never reached %s", id, want)
}

const gate = `
workflow_id: gate
initial_step: check
steps:
  - name: check
    type: review
    review: {timeout: 1h}
    conditions: {success: note, failure: refused}
  - name: note
    action: log
    params: {message: approved}
  - name: refused
    type: fail
    error: refused by a person
`

// Describe, the queries, an update refused and one accepted, and the wait
// for the outcome, on one run.
func TestServerDescribeQueryUpdateWait(t *testing.T) {
	t.Parallel()
	b := setup(t)
	testserver.Worker(t, b.queue)
	s := b.start(plan(t, gate))

	d, err := b.c.Describe(b.ctx, s.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, s.RunID, d.RunID)
	require.Equal(t, b.queue, d.TaskQueue)
	require.True(t, d.Running)
	require.Equal(t, "Running", d.Status)
	require.Equal(t, "gate", d.Definition)
	require.Regexp(t, `^gate \(sha256:[0-9a-f]{12}\)$`, d.Summary)
	require.True(t, d.Close.IsZero())

	b.awaitState(s.WorkflowID, statemachine.Review)
	p, err := b.c.Progress(b.ctx, s.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, s.WorkflowID, p.WorkflowID)
	require.Equal(t, []string{"check"}, p.CurrentSteps)
	raw, err := b.c.Query(b.ctx, s.WorkflowID, contract.QueryState)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"REVIEW"`)
	_, err = b.c.Query(b.ctx, s.WorkflowID, "no-such-query")
	require.ErrorIs(t, err, ErrRefused)

	_, err = b.c.Update(b.ctx, s.WorkflowID, contract.UpdateApprove, contract.Reason{Reason: "looks right"})
	require.NoError(t, err)
	o, err := b.c.Wait(b.ctx, s.WorkflowID, s.RunID)
	require.NoError(t, err)
	require.Equal(t, EndComplete, o.State)
	require.Equal(t, s.RunID, o.RunID)
	require.False(t, o.Close.Before(o.Start))

	_, err = b.c.Update(b.ctx, s.WorkflowID, contract.UpdateReject, contract.Reason{Reason: "too late"})
	require.ErrorIs(t, err, ErrFinished)
	d, err = b.c.Describe(b.ctx, s.WorkflowID)
	require.NoError(t, err)
	require.False(t, d.Running)
	require.Equal(t, "Completed", d.Status)
	require.False(t, d.Close.IsZero())
}

// The validator refuses an update the state does not allow, and a reject
// ends the run FAILED with the definition's error.
func TestServerUpdateRefusedAndReject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	testserver.Worker(t, b.queue)
	p := plan(t, `
workflow_id: slow-gate
initial_step: first
steps:
  - name: first
    wait: {duration: 1h}
    next: check
  - name: check
    type: review
    review: {timeout: 1h}
    conditions: {success: done, failure: refused}
  - name: done
    type: succeed
  - name: refused
    type: fail
    error: refused by a person
`)
	s := b.start(p)
	b.awaitState(s.WorkflowID, statemachine.Waiting)
	_, err := b.c.Update(b.ctx, s.WorkflowID, contract.UpdateApprove, contract.Reason{})
	require.ErrorIs(t, err, ErrRefused, "not in REVIEW")

	s = b.start(plan(t, gate))
	b.awaitState(s.WorkflowID, statemachine.Review)
	_, err = b.c.Update(b.ctx, s.WorkflowID, contract.UpdateReject, contract.Reason{Reason: "wrong amount"})
	require.NoError(t, err)
	o, err := b.c.Wait(b.ctx, s.WorkflowID, "")
	require.NoError(t, err)
	require.Equal(t, EndFailed, o.State)
	require.NotEmpty(t, o.Error)
}

// Signals pause and cancel a run; a signal to a finished run, or to no
// run, says which.
func TestServerSignal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	testserver.Worker(t, b.queue)
	s := b.start(plan(t, `
workflow_id: sleeper
initial_step: nap
steps:
  - name: nap
    wait: {duration: 1h}
`))
	b.awaitState(s.WorkflowID, statemachine.Waiting)
	require.NoError(t, b.c.Signal(b.ctx, s.WorkflowID, contract.SignalPause, contract.Reason{Reason: "lunch"}))
	b.awaitState(s.WorkflowID, statemachine.Paused)
	require.NoError(t, b.c.Signal(b.ctx, s.WorkflowID, contract.SignalCancel, contract.Reason{Reason: "no longer needed"}))
	o, err := b.c.Wait(b.ctx, s.WorkflowID, "")
	require.NoError(t, err)
	require.Equal(t, EndCancelled, o.State)

	err = b.c.Signal(b.ctx, s.WorkflowID, contract.SignalResume, contract.Reason{})
	require.ErrorIs(t, err, ErrFinished)
	err = b.c.Signal(b.ctx, "no-such-run", contract.SignalResume, contract.Reason{})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = b.c.Describe(b.ctx, "no-such-run")
	require.ErrorIs(t, err, ErrNotFound)
}

// List finds a run by its search attributes and refuses a query the
// server cannot parse.
func TestServerList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	testserver.Worker(t, b.queue)
	s := b.start(plan(t, gate))
	require.Eventually(t, func() bool {
		runs, err := b.c.List(b.ctx, "WorkflowId = '"+s.WorkflowID+"' AND DefinitionName = 'gate'", 0)
		return err == nil && len(runs) == 1 && runs[0].RunID == s.RunID && runs[0].Status == "Running"
	}, time.Minute, 50*time.Millisecond)
	runs, err := b.c.List(b.ctx, "WorkflowId = 'no-such-run'", 10)
	require.NoError(t, err)
	require.Empty(t, runs)
	_, err = b.c.List(b.ctx, "WorkflowId ==== 'x'", 10)
	require.ErrorIs(t, err, ErrBadRequest)
}

// A query with no worker to answer it says so, within the caller's time.
func TestServerQueryWithoutWorker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.start(plan(t, gate))
	n, err := b.c.Pollers(b.ctx, b.queue)
	require.NoError(t, err)
	require.Zero(t, n)
	ctx, cancel := context.WithTimeout(b.ctx, time.Second)
	defer cancel()
	_, err = b.c.Progress(ctx, s.WorkflowID)
	require.ErrorIs(t, err, ErrNoAnswer)
}

// A run whose worker fails every workflow task is stuck: describe says
// so, and the history says with what error.
func TestServerStuckRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	testserver.BrokenWorker(t, b.queue, "the worker is broken")
	s := b.start(plan(t, gate))
	require.Eventually(t, func() bool {
		d, err := b.c.Describe(b.ctx, s.WorkflowID)
		return err == nil && d.Stuck()
	}, time.Minute, 20*time.Millisecond)
	f, err := b.c.LastTaskFailure(b.ctx, s.WorkflowID, "")
	require.NoError(t, err)
	require.NotNil(t, f)
	require.Contains(t, f.Message, "the worker is broken")
	require.Equal(t, "WorkflowWorkerUnhandledFailure", f.Cause)
	require.NotEmpty(t, f.Identity)

	// A run whose first workflow task waits (no worker polls its queue)
	// is not stuck: on the broken queue it would be within milliseconds.
	idle := *b
	idle.queue = testserver.Queue(t)
	healthy := idle.start(plan(t, gate))
	d, err := b.c.Describe(b.ctx, healthy.WorkflowID)
	require.NoError(t, err)
	require.False(t, d.Stuck())
}

// A step whose input is over the payload limit wedges the run the same
// way: the SDK fails the workflow task before sending it.
func TestServerStuckOnAnOversizedPayload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	testserver.OversizedWorker(t, b.queue)
	s := b.start(plan(t, gate))
	require.Eventually(t, func() bool {
		d, err := b.c.Describe(b.ctx, s.WorkflowID)
		return err == nil && d.Stuck()
	}, time.Minute, 20*time.Millisecond)
	f, err := b.c.LastTaskFailure(b.ctx, s.WorkflowID, "")
	require.NoError(t, err)
	require.NotNil(t, f)
	require.Equal(t, "[TMPRL1103] Attempted to upload payloads with size that exceeded the error limit.", f.Message)
	require.Equal(t, "PayloadsTooLarge", f.Cause)
}

// A step routed to a specialist no worker serves waits in describe's
// pending activities, on the specialist's queue, which Unpolled names.
func TestServerStepWaitsForASpecialist(t *testing.T) {
	t.Parallel()
	b := setup(t)
	testserver.Worker(t, b.queue)
	p := plan(t, `
workflow_id: lonely
initial_step: check
steps:
  - name: check
    action: log
    specialist: nobody
    params: {message: hello}
`)
	idle, err := b.c.Unpolled(b.ctx, Queues(p, b.queue))
	require.NoError(t, err)
	require.Equal(t, []QueueUse{{Queue: b.queue + ".nobody", Steps: []string{"check"}}}, idle)

	s := b.start(p)
	require.Eventually(t, func() bool {
		d, err := b.c.Describe(b.ctx, s.WorkflowID)
		return err == nil && len(d.Activities) == 1
	}, time.Minute, 20*time.Millisecond)
	d, err := b.c.Describe(b.ctx, s.WorkflowID)
	require.NoError(t, err)
	a := d.Activities[0]
	require.Equal(t, b.queue+".nobody", a.TaskQueue)
	require.Equal(t, contract.RunStepName, a.Type)
	require.False(t, a.Started)
	require.Equal(t, 1, a.Attempt)

	idle, err = b.c.Unpolled(b.ctx, Queues(plan(t, gate), "queue-nobody-polls"))
	require.NoError(t, err)
	require.Equal(t, []QueueUse{{Queue: "queue-nobody-polls", Workflow: true, Steps: []string{"note"}}}, idle,
		"a queue without a workflow worker is said once, for the workflow and its steps")
}
