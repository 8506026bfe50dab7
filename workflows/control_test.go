package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// ledger records what the test actions did, in order.
type ledger struct {
	mu    sync.Mutex
	calls []string
	gates map[string]chan struct{}
}

func (l *ledger) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

func (l *ledger) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (l *ledger) count(s string) int {
	n := 0
	for _, c := range l.list() {
		if c == s {
			n++
		}
	}
	return n
}

// gate is the channel a hold step named step waits on.
func (l *ledger) gate(step string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gates == nil {
		l.gates = map[string]chan struct{}{}
	}
	if l.gates[step] == nil {
		l.gates[step] = make(chan struct{})
	}
	return l.gates[step]
}

// controlActions registers work (records "work:STEP"), undo (a
// compensation: records "undo:STEP"), hold (waits for its gate or a
// cancel, recording "hold:STEP" when it starts) and broken_undo (a
// compensation that always fails).
func controlActions(b *bundle) *ledger {
	l := &ledger{}
	b.reg.MustRegister("work", func(ctx context.Context, in contract.StepInput) (any, error) {
		l.add("work:" + in.Step)
		return map[string]any{"step": in.Step}, nil
	})
	b.reg.MustRegister("undo", func(ctx context.Context, in contract.StepInput) (any, error) {
		m, _ := in.Input.(map[string]any)
		l.add(fmt.Sprintf("undo:%v", m["step"]))
		return nil, nil
	})
	b.reg.MustRegister("broken_undo", func(ctx context.Context, in contract.StepInput) (any, error) {
		return nil, temporal.NewNonRetryableApplicationError("the refund service said no", "RefundRefused", nil)
	})
	b.reg.MustRegister("hold", func(ctx context.Context, in contract.StepInput) (any, error) {
		l.add("hold:" + in.Step)
		select {
		case <-l.gate(in.Step):
			return map[string]any{"held": in.Step}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	return l
}

func (b *bundle) update(run client.WorkflowRun, name string, arg any) (contract.StateView, error) {
	b.t.Helper()
	h, err := b.client.UpdateWorkflow(b.ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var v contract.StateView
	if err == nil {
		err = h.Get(b.ctx, &v)
	}
	return v, err
}

// waitStep waits until step is among the run's current steps.
func (b *bundle) waitStep(run client.WorkflowRun, step string) {
	b.t.Helper()
	require.Eventually(b.t, func() bool {
		v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", contract.QueryState)
		if err != nil {
			return false
		}
		var s contract.StateView
		return v.Get(&s) == nil && slices.Contains(s.CurrentSteps, step) && s.State != statemachine.Paused
	}, time.Minute, 20*time.Millisecond, "run never ran %s", step)
}

// snapshot is everything a refused request must leave as it was.
func (b *bundle) snapshot(run client.WorkflowRun) string {
	b.t.Helper()
	var out []string
	for _, q := range []string{contract.QueryState, contract.QueryProgress, contract.QueryHistory} {
		v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", q)
		require.NoError(b.t, err)
		var raw json.RawMessage
		require.NoError(b.t, v.Get(&raw))
		out = append(out, string(raw))
	}
	return strings.Join(out, "\n")
}

func records(h []statemachine.Record, ev statemachine.Event) []statemachine.Record {
	var out []statemachine.Record
	for _, r := range h {
		if r.Event == ev {
			out = append(out, r)
		}
	}
	return out
}

const heldTimeouts = "    timeouts: {start_to_close: 10m, heartbeat: 3s}\n"

// Rollback across a parallel group and a sub-workflow step: the
// compensations run newest first (a group's branches together), the
// steps run again from the first one undone, and each compensation ran
// once per undone step.
func TestRollbackCompensatesAndGoesOn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.startWorker()
	plan := b.plan(`
workflow_id: rollback
initial_step: a
steps:
  - name: a
    action: work
    compensate: {action: undo}
    next: group
  - name: group
    type: parallel
    branches: [b1, b2]
    next: sub
  - name: b1
    action: work
    compensate: {action: undo}
  - name: b2
    action: work
    compensate: {action: undo}
  - name: sub
    workflow: {file: inner.yaml}
    next: hold
  - name: hold
    action: hold
`+heldTimeouts, map[string]string{"inner.yaml": "workflow_id: inner\ninitial_step: i1\nsteps:\n  - name: i1\n    action: work\n"})
	run := b.start(plan, nil)
	b.waitStep(run, "hold")

	before := b.snapshot(run)
	_, err := b.update(run, contract.UpdateRollback, contract.RollbackRequest{Steps: 4})
	require.ErrorContains(t, err, "cannot roll back 4 step(s): only 3 completed step(s) can be undone (newest first: sub, group, a)")
	require.Equal(t, before, b.snapshot(run), "a refused rollback leaves no trace")

	v, err := b.update(run, contract.UpdateRollback, contract.RollbackRequest{Steps: 3, Reason: "bad input", Who: "ana"})
	require.NoError(t, err)
	require.Equal(t, statemachine.Processing, v.State)
	b.waitStep(run, "hold")
	close(l.gate("hold"))
	p, h, err := b.finish(run)
	require.NoError(t, err)
	require.Equal(t, "COMPLETE", p.Status)
	requireContiguous(t, h)

	calls := l.list()
	undos := []string{}
	for _, c := range calls {
		if strings.HasPrefix(c, "undo:") {
			undos = append(undos, c)
		}
	}
	require.Len(t, undos, 3, "each compensation once: %v", calls)
	require.ElementsMatch(t, []string{"undo:b1", "undo:b2"}, undos[:2], "the group first, its branches together")
	require.Equal(t, "undo:a", undos[2], "then the oldest")
	for _, s := range []string{"work:a", "work:b1", "work:b2", "work:i1"} {
		require.Equal(t, 2, l.count(s), "%s ran again after the rollback", s)
	}
	rb := records(h, statemachine.EventRollback)
	require.Len(t, rb, 1)
	require.Equal(t, "ana", rb[0].Who)
	require.Equal(t, "rolled back 3 step(s): a, group, sub: bad input", rb[0].Reason)
	require.Len(t, records(h, statemachine.EventCompensate), 3)
	require.Equal(t, 100, p.ProgressPercentage)
	b.record("rollback", run.GetID(), "")
}

// Skip ends the running step with an empty output and the success route;
// transition moves the run by hand through the table.
func TestSkipAndTransition(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.startWorker()
	plan := b.plan(`
workflow_id: skip
initial_step: hold
steps:
  - name: hold
    action: hold
` + heldTimeouts + `    next: after
  - name: after
    action: work
    next: last
  - name: last
    action: hold
` + heldTimeouts)
	run := b.start(plan, nil)
	b.waitStep(run, "hold")
	v, err := b.update(run, contract.UpdateSkip, contract.Reason{Reason: "done by hand", Who: "bo"})
	require.NoError(t, err)
	require.NotEqual(t, []string{"hold"}, v.CurrentSteps)
	b.waitStep(run, "last")

	// transition: WAITING is refused (only a wait step enters it), PAUSED
	// and back are the pause and resume, COMPLETE from PAUSED is refused
	// by the table, COMPLETE from PROCESSING ends the run.
	before := b.snapshot(run)
	_, err = b.update(run, contract.UpdateTransition, contract.TransitionRequest{To: "waiting"})
	require.ErrorContains(t, err, "the run enters WAITING only by running a step of that kind")
	_, err = b.update(run, contract.UpdateTransition, contract.TransitionRequest{To: "LIMBO"})
	require.ErrorContains(t, err, `"LIMBO" is not a state`)
	require.Equal(t, before, b.snapshot(run))
	v, err = b.update(run, contract.UpdateTransition, contract.TransitionRequest{To: "PAUSED", Who: "cy"})
	require.NoError(t, err)
	require.Equal(t, statemachine.Paused, v.State)
	before = b.snapshot(run)
	_, err = b.update(run, contract.UpdateTransition, contract.TransitionRequest{To: "COMPLETE"})
	require.ErrorContains(t, err, "a paused run must resume before it completes")
	require.Equal(t, before, b.snapshot(run))
	v, err = b.update(run, contract.UpdateTransition, contract.TransitionRequest{To: "PROCESSING", Who: "cy"})
	require.NoError(t, err)
	require.Equal(t, statemachine.Processing, v.State)
	_, err = b.update(run, contract.UpdateTransition, contract.TransitionRequest{To: "COMPLETE", Reason: "enough", Who: "dee"})
	require.NoError(t, err)
	p, h, err := b.finish(run)
	require.NoError(t, err)
	require.Equal(t, "COMPLETE", p.Status)
	requireContiguous(t, h)

	sk := records(h, statemachine.EventSkip)
	require.Len(t, sk, 1)
	require.Equal(t, statemachine.Record{Seq: sk[0].Seq, From: statemachine.Processing, To: statemachine.Processing, Step: "hold", Event: statemachine.EventSkip, Reason: "done by hand", Who: "bo", At: sk[0].At}, sk[0])
	require.Equal(t, 1, l.count("work:after"), "the skip took the success route")
	last := h[len(h)-1]
	require.Equal(t, statemachine.EventManual, last.Event)
	require.Equal(t, "dee", last.Who)
	require.Equal(t, statemachine.Complete, last.To)
	var res workflows.Result
	require.NoError(t, run.Get(b.ctx, &res))
	require.Equal(t, map[string]any{}, res.Steps["hold"], "a skipped step's output is empty")
	b.record("skip-transition", run.GetID(), "")

	// transition to FAILED ends the run with the operator's reason.
	run = b.start(plan, nil)
	b.waitStep(run, "hold")
	_, err = b.update(run, contract.UpdateTransition, contract.TransitionRequest{To: "failed", Reason: "wrong customer", Who: "ed"})
	require.NoError(t, err)
	_, h, err = b.finish(run)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.Equal(t, workflows.ErrTypeRunFailed, app.Type())
	last = h[len(h)-1]
	require.Equal(t, statemachine.Failed, last.To)
	require.Equal(t, "ed", last.Who)
	require.Equal(t, "failed by transition: wrong customer", last.Reason)
}

// Modify replaces the steps not reached yet; a change to the running
// step, or a broken definition, is refused with every problem listed.
func TestModifyReplacesStepsNotReached(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.startWorker()
	const head = `
workflow_id: modify
initial_step: first
steps:
  - name: first
    action: work
    next: hold
  - name: hold
    action: hold
` + heldTimeouts
	plan := b.plan(head + `    next: later
  - name: later
    action: work
`)
	run := b.start(plan, nil)
	b.waitStep(run, "hold")

	before := b.snapshot(run)
	_, err := b.update(run, contract.UpdateModify, contract.ModifyRequest{Definition: mustJSON(t, strings.Replace(head, "action: hold", "action: work", 1))})
	require.ErrorContains(t, err, "step hold has run (or runs now): the new definition must keep it as it is")
	_, err = b.update(run, contract.UpdateModify, contract.ModifyRequest{Definition: mustJSON(t, head+"    next: nowhere\n  - name: x\n    action: work\n    next: also_nowhere\n")})
	require.ErrorContains(t, err, "nowhere")
	require.ErrorContains(t, err, "also_nowhere", "every problem listed")
	require.Equal(t, before, b.snapshot(run), "refused modifies leave no trace")

	newPlan := b.plan(head + `    next: replaced
  - name: replaced
    action: work
    next: added
  - name: added
    action: work
`)
	planJSON, err := json.Marshal(newPlan)
	require.NoError(t, err)
	v, err := b.update(run, contract.UpdateModify, contract.ModifyRequest{Plan: planJSON, Reason: "new route", Who: "fay"})
	require.NoError(t, err)
	require.Equal(t, newPlan.Hash, v.PlanHash)
	close(l.gate("hold"))
	_, h, err := b.finish(run)
	require.NoError(t, err)
	requireContiguous(t, h)
	require.Equal(t, []string{"work:first", "hold:hold", "work:replaced", "work:added"}, l.list())
	m := records(h, statemachine.EventModify)
	require.Len(t, m, 1)
	require.Equal(t, fmt.Sprintf("plan %s → %s: new route", plan.Hash, newPlan.Hash), m[0].Reason)
	require.Equal(t, "fay", m[0].Who)
	b.record("modify", run.GetID(), "")
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

// A modify racing with the end of the step before the one it replaces:
// either it lands first and the new step runs, or the step it replaces
// has started and the modify is refused; never a mix.
func TestModifyRacingWithTheStepItReplaces(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.startWorker()
	const head = `
workflow_id: modify-race
initial_step: hold
steps:
  - name: hold
    action: hold
` + heldTimeouts + `    next: target
  - name: target
`
	plan := b.plan(head + "    action: hold\n" + heldTimeouts)
	newPlan := b.plan(head + "    action: work\n")
	planJSON, err := json.Marshal(newPlan)
	require.NoError(t, err)
	accepted, refused := 0, 0
	for range 6 {
		l.mu.Lock()
		l.gates = nil
		l.calls = nil
		l.mu.Unlock()
		run := b.start(plan, nil)
		b.waitStep(run, "hold")
		errc := make(chan error, 1)
		go func() {
			_, err := b.update(run, contract.UpdateModify, contract.ModifyRequest{Plan: planJSON})
			errc <- err
		}()
		close(l.gate("hold"))
		err := <-errc
		if err == nil {
			accepted++
			_, _, err := b.finish(run)
			require.NoError(t, err)
			require.Equal(t, []string{"hold:hold", "work:target"}, l.list())
			continue
		}
		refused++
		require.ErrorContains(t, err, "step target has run (or runs now)")
		b.waitStep(run, "target")
		close(l.gate("target"))
		_, _, err = b.finish(run)
		require.NoError(t, err)
		require.Equal(t, []string{"hold:hold", "hold:target"}, l.list())
	}
	t.Logf("modify accepted %d times, refused %d times", accepted, refused)

	// And once the step it replaces has started, the modify is refused.
	l.mu.Lock()
	l.gates, l.calls = nil, nil
	l.mu.Unlock()
	run := b.start(plan, nil)
	b.waitStep(run, "hold")
	close(l.gate("hold"))
	b.waitStep(run, "target")
	_, err = b.update(run, contract.UpdateModify, contract.ModifyRequest{Plan: planJSON})
	require.ErrorContains(t, err, "step target has run (or runs now)")
	close(l.gate("target"))
	_, _, err = b.finish(run)
	require.NoError(t, err)
}

// Pause: the steps running finish and are recorded, no new step starts,
// and a wait's timer stops counting: after the resume a new timer counts
// only what was left, as the history shows.
func TestPauseStopsTheClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.startWorker()
	plan := b.plan(`
workflow_id: pause-clock
initial_step: group
steps:
  - name: group
    type: parallel
    branches: [p1, p2]
    next: nap
  - name: p1
    action: hold
` + heldTimeouts + `  - name: p2
    action: hold
` + heldTimeouts + `  - name: nap
    wait: {duration: 3s}
    next: end
  - name: end
    action: work
`)
	run := b.start(plan, nil)
	b.waitStep(run, "p1")
	b.waitStep(run, "p2")
	v, err := b.update(run, contract.UpdatePause, contract.Reason{Reason: "check", Who: "gus"})
	require.NoError(t, err)
	require.Equal(t, statemachine.Paused, v.State)
	_, err = b.update(run, contract.UpdatePause, contract.Reason{})
	require.ErrorContains(t, err, "already paused")
	close(l.gate("p1"))
	close(l.gate("p2"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 2, b.progress(run).CompletedSteps)
	}, time.Minute, 20*time.Millisecond, "the branches running finish while paused")
	require.Equal(t, "PAUSED", b.progress(run).Status)
	_, err = b.update(run, contract.UpdateResume, contract.Reason{Who: "gus"})
	require.NoError(t, err)
	b.waitState(run, statemachine.Waiting)
	time.Sleep(time.Second)
	require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", contract.SignalPause, map[string]any{"reason": "nap break", "who": "hal"}))
	b.waitState(run, statemachine.Paused)
	time.Sleep(2 * time.Second)
	require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", contract.SignalResume, nil))
	_, h, err := b.finish(run)
	require.NoError(t, err)
	requireContiguous(t, h)
	calls := l.list()
	require.ElementsMatch(t, []string{"hold:p1", "hold:p2"}, calls[:2])
	require.Equal(t, []string{"work:end"}, calls[2:])

	// The timers in Temporal's history: 3s, cancelled at the pause, then
	// what was left, fired.
	var timers []time.Duration
	var started, cancelled, fired []time.Time
	for _, ev := range b.events(run.GetID(), "") {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			timers = append(timers, ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration())
			started = append(started, ev.GetEventTime().AsTime())
		case enumspb.EVENT_TYPE_TIMER_CANCELED:
			cancelled = append(cancelled, ev.GetEventTime().AsTime())
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			fired = append(fired, ev.GetEventTime().AsTime())
		}
	}
	require.Len(t, timers, 2, "one timer, then one for what was left")
	require.Equal(t, 3*time.Second, timers[0])
	require.Len(t, cancelled, 1)
	require.Len(t, fired, 1)
	require.True(t, started[0].Before(cancelled[0]) && cancelled[0].Before(started[1]) && started[1].Before(fired[0]))
	pauses := records(h, statemachine.EventPause)
	require.Len(t, pauses, 2)
	require.Equal(t, "hal", pauses[1].Who)
	waited := records(h, statemachine.EventWait)
	require.Len(t, waited, 1, "%+v", h)
	ran := pauses[1].At.Sub(waited[0].At)
	require.Equal(t, 3*time.Second-ran, timers[1], "the second timer counts what the first had left (it ran %s)", ran)
	b.record("pause-clock", run.GetID(), "")
}

// Signals the run cannot act on are noted in its history; updates are
// refused with the reason and leave no trace: not in the run's state and
// history, not in its Redis keys.
func TestRefusedOperationsLeaveNoTrace(t *testing.T) {
	t.Parallel()
	b, _, rdb := mirrored(t)
	l := controlActions(b)
	b.startWorker()
	plan := b.plan(`
workflow_id: refusals
initial_step: hold
steps:
  - name: hold
    action: hold
` + heldTimeouts)
	run := b.start(plan, nil)
	b.waitStep(run, "hold")
	mirror := func() string {
		ctx, id := b.ctx, run.GetID()
		h, err := rdb.HGetAll(ctx, "wf:{"+id+"}").Result()
		require.NoError(t, err)
		l, err := rdb.LRange(ctx, "wf:{"+id+"}:history", 0, -1).Result()
		require.NoError(t, err)
		w, err := rdb.HGetAll(ctx, "wf:{"+id+"}:writer").Result()
		require.NoError(t, err)
		return fmt.Sprint(h, l, w)
	}
	require.Eventually(t, func() bool {
		return rdb.HGet(b.ctx, "wf:{"+run.GetID()+"}", "seq").Val() == fmt.Sprint(b.progress(run).Seq)
	}, time.Minute, 20*time.Millisecond, "the mirror catches up")
	before, beforeRedis := b.snapshot(run), mirror()
	for _, c := range []struct {
		name string
		arg  any
		want string
	}{
		{contract.UpdateResume, contract.Reason{}, "the run is PROCESSING, not paused"},
		{contract.UpdateRollback, contract.RollbackRequest{Steps: 1}, "only 0 completed step(s)"},
		{contract.UpdateRollback, contract.RollbackRequest{Steps: 0}, "roll back at least 1 step"},
		{contract.UpdateTransition, contract.TransitionRequest{To: "INITIAL"}, "INITIAL is only the starting state"},
		{contract.UpdateModify, contract.ModifyRequest{}, "give the new steps"},
		{contract.UpdateApprove, contract.Reason{}, "not waiting for a review"},
	} {
		_, err := b.update(run, c.name, c.arg)
		require.ErrorContains(t, err, c.want, c.name)
	}
	require.Equal(t, before, b.snapshot(run), "refused updates leave no trace")
	require.Equal(t, beforeRedis, mirror(), "nor in Redis")

	require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", contract.SignalResume, map[string]any{"who": "ida"}))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, records(b.history(run), statemachine.EventRefused), 1)
	}, time.Minute, 20*time.Millisecond)
	r := records(b.history(run), statemachine.EventRefused)[0]
	require.Equal(t, "resume refused: PROCESSING is not paused: only a paused run resumes", r.Reason)
	require.Equal(t, "ida", r.Who)
	require.Equal(t, statemachine.Processing, r.To)
	close(l.gate("hold"))
	_, _, err := b.finish(run)
	require.NoError(t, err)

	// A finished run answers every operation with its end.
	for _, name := range []string{contract.UpdatePause, contract.UpdateSkip} {
		_, err := b.update(run, name, contract.Reason{})
		require.Error(t, err, name)
	}
}

// Cancel runs the compensations of the completed steps newest first, on
// a context the cancel does not interrupt, by signal and through
// Temporal alike; a compensation that fails for good leaves the run
// FAILED with both reasons.
func TestCancelCompensates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	failing := 0
	var mu sync.Mutex
	b.reg.MustRegister("flaky", func(ctx context.Context, in contract.StepInput) (any, error) {
		mu.Lock()
		failing++
		mu.Unlock()
		return nil, errors.New("still down")
	})
	b.startWorker()
	plan := func(last string) string {
		return `
workflow_id: cancel-compensates
initial_step: a
steps:
  - name: a
    action: work
    compensate: {action: undo}
    next: b
  - name: b
    action: work
    compensate: {action: undo}
    next: c
  - name: c
    action: work
    next: last
  - name: last
` + last
	}
	review := "    type: review\n    review: {timeout: 1h}\n"
	retrying := "    action: flaky\n    retry: {initial_interval: 100ms, backoff_coefficient: 1, maximum_attempts: 0}\n"
	for _, c := range []struct{ name, last, how string }{
		{"review-signal", review, "signal"},
		{"review-temporal", review, "temporal"},
		{"retrying-signal", retrying, "signal"},
	} {
		l.mu.Lock()
		l.calls = nil
		l.mu.Unlock()
		run := b.start(b.plan(plan(c.last)), nil)
		b.waitStep(run, "last")
		if strings.HasPrefix(c.name, "review") {
			// The Web UI's filter for runs waiting for a person.
			require.Eventually(t, func() bool {
				resp, err := b.client.ListWorkflow(b.ctx, &workflowservice.ListWorkflowExecutionsRequest{
					Query: fmt.Sprintf("WorkflowState = 'REVIEW' AND WorkflowId = '%s'", run.GetID())})
				return err == nil && len(resp.GetExecutions()) == 1
			}, time.Minute, 50*time.Millisecond, "WorkflowState=REVIEW lists the run")
		}
		if strings.HasPrefix(c.name, "retrying") {
			require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return failing >= 2 }, time.Minute, 10*time.Millisecond, "the step retries")
		}
		if c.how == "signal" {
			require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", contract.SignalCancel, map[string]any{"reason": "customer left", "who": "jo"}))
		} else {
			require.NoError(t, b.client.CancelWorkflow(b.ctx, run.GetID(), ""))
		}
		p, h, err := b.finish(run)
		var canceled *temporal.CanceledError
		require.True(t, errors.As(err, &canceled), "%s: %v", c.name, err)
		require.Equal(t, "CANCELLED", p.Status, c.name)
		requireContiguous(t, h)
		require.Equal(t, []string{"work:a", "work:b", "work:c", "undo:b", "undo:a"}, l.list(), c.name)
		require.Equal(t, []string{"b", "a"}, steps(h, statemachine.EventCompensate), c.name)
		var details workflows.Result
		require.NoError(t, canceled.Details(&details))
		require.Equal(t, "last", details.Step)
		if c.name == "review-temporal" {
			b.record("cancel-compensates", run.GetID(), "")
		}
	}

	// A compensation that fails for good: FAILED, with both reasons.
	run := b.start(b.plan(strings.Replace(plan(review), "compensate: {action: undo}\n    next: c", "compensate: {action: broken_undo}\n    next: c", 1)), nil)
	b.waitStep(run, "last")
	require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", contract.SignalCancel, map[string]any{"reason": "customer left"}))
	p, h, err := b.finish(run)
	require.Error(t, err)
	require.Equal(t, "FAILED", p.Status)
	require.Contains(t, p.Error, "customer left")
	require.Contains(t, p.Error, "the refund service said no")
	require.Len(t, records(h, statemachine.EventCompensateFailed), 1)
	require.Empty(t, steps(h, statemachine.EventCompensate), "the older step's compensation does not run after one failed")
}

// A flood on one run: 100 pause and resume signals in a random order and
// 20 rollbacks. The README's prediction: a pause while paused and a
// resume while running are refused and noted; the last signal is a
// resume, so the run ends COMPLETE once its last step is let through;
// each rollback of 2 compensates b then a, once each.
func TestFloodOfPausesAndRollbacks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.startWorker()
	plan := b.plan(`
workflow_id: flood
initial_step: a
steps:
  - name: a
    action: work
    compensate: {action: undo}
    next: b
  - name: b
    action: work
    compensate: {action: undo}
    next: hold
  - name: hold
    action: hold
` + heldTimeouts)
	run := b.start(plan, nil)
	rng := rand.New(rand.NewPCG(11, 11))
	sent := 0
	for round := range 20 {
		b.waitStep(run, "hold")
		for range 4 {
			name := contract.SignalPause
			if rng.IntN(2) == 0 {
				name = contract.SignalResume
			}
			require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", name, map[string]any{"reason": fmt.Sprintf("round %d", round)}))
			sent++
		}
		v, err := b.update(run, contract.UpdateRollback, contract.RollbackRequest{Steps: 2, Reason: fmt.Sprintf("round %d", round)})
		require.NoError(t, err, "round %d", round)
		require.False(t, v.RollingBack)
		require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", contract.SignalResume, nil))
		sent++
	}
	require.Equal(t, 100, sent)
	b.waitStep(run, "hold")
	close(l.gate("hold"))
	p, h, err := b.finish(run)
	require.NoError(t, err)
	require.Equal(t, "COMPLETE", p.Status)
	requireContiguous(t, h)
	require.Equal(t, 20, l.count("undo:a"))
	require.Equal(t, 20, l.count("undo:b"))
	require.Equal(t, 21, l.count("work:a"))
	require.Len(t, records(h, statemachine.EventRollback), 20)
	pauses, resumes, refused := len(records(h, statemachine.EventPause)), len(records(h, statemachine.EventResume)), len(records(h, statemachine.EventRefused))
	require.Equal(t, 100, pauses+resumes+refused, "every signal either took effect or was noted as refused")
	require.Equal(t, pauses, resumes)
	t.Logf("%d pauses, %d resumes, %d refused; %d records", pauses, resumes, refused, len(h))
}

// An update arriving while another is being handled: a second rollback
// while the first one's compensations run is refused, and the first
// completes.
func TestRollbackWhileCompensating(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.reg.MustRegister("slow_undo", func(ctx context.Context, in contract.StepInput) (any, error) {
		l.add("slow_undo")
		select {
		case <-l.gate("undo"):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		activity.RecordHeartbeat(ctx)
		return nil, nil
	})
	b.startWorker()
	plan := b.plan(`
workflow_id: busy
initial_step: a
steps:
  - name: a
    action: work
    compensate: {action: slow_undo}
    next: hold
  - name: hold
    action: hold
` + heldTimeouts)
	run := b.start(plan, nil)
	b.waitStep(run, "hold")
	first := make(chan error, 1)
	go func() {
		_, err := b.update(run, contract.UpdateRollback, contract.RollbackRequest{Steps: 1})
		first <- err
	}()
	require.Eventually(t, func() bool { return l.count("slow_undo") == 1 }, time.Minute, 10*time.Millisecond)
	v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", contract.QueryState)
	require.NoError(t, err)
	var sv contract.StateView
	require.NoError(t, v.Get(&sv))
	require.True(t, sv.RollingBack)
	_, err = b.update(run, contract.UpdateRollback, contract.RollbackRequest{Steps: 1})
	require.ErrorContains(t, err, "a rollback's compensations are still running")
	_, err = b.update(run, contract.UpdateSkip, contract.Reason{})
	require.Error(t, err)
	close(l.gate("undo"))
	require.NoError(t, <-first)
	b.waitStep(run, "hold")
	close(l.gate("hold"))
	_, h, err := b.finish(run)
	require.NoError(t, err)
	requireContiguous(t, h)
	require.Len(t, records(h, statemachine.EventRollback), 1)
	require.Equal(t, 2, l.count("work:a"))
}

// A FAILED run redriven with corrected input completes without running
// again the steps that had succeeded.
func TestRedriveFromTheFailedStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.reg.MustRegister("check", func(ctx context.Context, in contract.StepInput) (any, error) {
		m, _ := in.Input.(map[string]any)
		l.add(fmt.Sprintf("check:%v", m["amount"]))
		if m["amount"] == nil {
			return nil, temporal.NewNonRetryableApplicationError("amount is missing", "BadAmount", nil)
		}
		return map[string]any{"ok": true}, nil
	})
	b.startWorker()
	plan := b.plan(`
workflow_id: redrive
initial_step: a
steps:
  - name: a
    action: work
    next: b
  - name: b
    action: work
    next: check
  - name: check
    action: check
    next: done
  - name: done
    action: transform
    params: {mapping: {seen: "steps.a.step + '+' + steps.b.step"}}
`)
	old := b.start(plan, nil)
	_, _, err := b.finish(old)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	var res workflows.Result
	require.NoError(t, app.Details(&res))
	require.Equal(t, "check", res.Step)
	require.Equal(t, plan.Hash, res.PlanHash)
	require.Contains(t, res.Steps, "a")

	run := b.start(plan, map[string]any{"amount": 5}, func(in *workflows.Input) {
		in.Redrive = &workflows.Redrive{WorkflowID: old.GetID(), RunID: old.GetRunID(), From: res.Step, Steps: res.Steps, Reason: "amount fixed", Who: "kim"}
	})
	_, h, err := b.finish(run)
	require.NoError(t, err)
	require.Equal(t, 1, l.count("work:a"), "a is not run again")
	require.Equal(t, 1, l.count("work:b"))
	require.Equal(t, []string{"check:<nil>", "check:5"}, slices.DeleteFunc(l.list(), func(s string) bool { return !strings.HasPrefix(s, "check:") }))
	require.Equal(t, statemachine.EventRedrive, h[0].Event)
	require.Equal(t, "kim", h[0].Who)
	require.Equal(t, fmt.Sprintf("redrive of %s (run %s) from step check: amount fixed", old.GetID(), old.GetRunID()), h[0].Reason)
	var out workflows.Result
	require.NoError(t, run.Get(b.ctx, &out))
	require.Equal(t, map[string]any{"seen": "a+b"}, out.Steps["done"], "the later steps see the kept outputs")
	b.record("redrive", run.GetID(), "")

	// A run that ended at a fail step is redriven from the step that
	// routed it there.
	routed := b.plan(`
workflow_id: redrive-routed
initial_step: check
steps:
  - name: check
    action: check
    conditions: {success: done, BadAmount: declined}
  - name: done
    type: succeed
  - name: declined
    type: fail
    error: declined
`)
	old = b.start(routed, nil)
	_, _, err = b.finish(old)
	require.True(t, errors.As(err, &app), "%v", err)
	res = workflows.Result{}
	require.NoError(t, app.Details(&res))
	require.Equal(t, "check", res.Step)
}

// A signal a wait step waits for that arrives while the run is paused is
// kept, and taken after the resume.
func TestSignalWhilePausedIsTakenAfterResume(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorker()
	run := b.start(b.plan(`
workflow_id: paused-signal
initial_step: await
steps:
  - name: await
    wait: {signal: go}
`), nil)
	b.waitState(run, statemachine.Waiting)
	_, err := b.update(run, contract.UpdatePause, contract.Reason{Reason: "hold"})
	require.NoError(t, err)
	require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", "go", map[string]any{"n": 1}))
	// A query after the signal is answered after the signal was handled.
	require.Empty(t, records(b.history(run), statemachine.EventStepCompleted), "not taken while paused")
	_, err = b.update(run, contract.UpdateResume, contract.Reason{})
	require.NoError(t, err)
	_, h, err := b.finish(run)
	require.NoError(t, err)
	var events []statemachine.Event
	for _, r := range h {
		events = append(events, r.Event)
	}
	require.Equal(t, []statemachine.Event{statemachine.EventStart, statemachine.EventPause, statemachine.EventResume, statemachine.EventStepCompleted, statemachine.EventComplete}, events)
	var res workflows.Result
	require.NoError(t, run.Get(b.ctx, &res))
	require.Equal(t, map[string]any{"signal": "go", "payload": map[string]any{"n": float64(1)}}, res.Steps["await"])
}

// The Web UI lists a run's signals, queries and updates from Temporal's
// metadata query: each of ours is there with a description.
func TestHandlersCarryDescriptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorker()
	run := b.start(b.plan("workflow_id: described\ninitial_step: await\nsteps:\n  - name: await\n    wait: {signal: go}\n"), nil)
	b.waitState(run, statemachine.Waiting)
	v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", "__temporal_workflow_metadata")
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	described := func(defs []*sdkpb.WorkflowInteractionDefinition) map[string]bool {
		out := map[string]bool{}
		for _, d := range defs {
			out[d.GetName()] = d.GetDescription() != ""
		}
		return out
	}
	def := md.GetDefinition()
	for _, name := range []string{contract.SignalPause, contract.SignalResume, contract.SignalCancel} {
		require.True(t, described(def.GetSignalDefinitions())[name], "signal %s", name)
	}
	for _, name := range []string{contract.QueryState, contract.QueryProgress, contract.QueryHistory, contract.QueryDefinition} {
		require.True(t, described(def.GetQueryDefinitions())[name], "query %s", name)
	}
	for _, name := range []string{contract.UpdateApprove, contract.UpdateReject, contract.UpdatePause, contract.UpdateResume,
		contract.UpdateRollback, contract.UpdateSkip, contract.UpdateTransition, contract.UpdateModify} {
		require.True(t, described(def.GetUpdateDefinitions())[name], "update %s", name)
	}
	require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", "go", nil))
	_, _, err = b.finish(run)
	require.NoError(t, err)
}

// A reviewer's decision is recorded with who and why.
func TestDecisionIsRecordedWithWhoAndWhy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorker()
	run := b.start(b.plan("workflow_id: decided\ninitial_step: check\nsteps:\n  - name: check\n    type: review\n    review: {timeout: 1h}\n"), nil)
	b.waitState(run, statemachine.Review)
	_, err := b.update(run, contract.UpdateApprove, contract.Reason{Reason: "looks good", Who: "lee"})
	require.NoError(t, err)
	_, h, err := b.finish(run)
	require.NoError(t, err)
	a := records(h, statemachine.EventApprove)
	require.Len(t, a, 1)
	require.Equal(t, "looks good", a[0].Reason)
	require.Equal(t, "lee", a[0].Who)
	require.Equal(t, "check", a[0].Step)
}

// A cancel that arrives while a rollback's compensations run waits for
// them: each undone step is compensated once, then the cancel compensates
// what is left.
func TestCancelDuringRollback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.reg.MustRegister("slow_undo", func(ctx context.Context, in contract.StepInput) (any, error) {
		m, _ := in.Input.(map[string]any)
		l.add(fmt.Sprintf("slow_undo:%v", m["step"]))
		select {
		case <-l.gate("undo"):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return nil, nil
	})
	b.startWorker()
	run := b.start(b.plan(`
workflow_id: cancel-rollback
initial_step: a
steps:
  - name: a
    action: work
    compensate: {action: undo}
    next: b
  - name: b
    action: work
    compensate: {action: slow_undo}
    next: hold
  - name: hold
    action: hold
`+heldTimeouts), nil)
	b.waitStep(run, "hold")
	rolled := make(chan error, 1)
	go func() {
		_, err := b.update(run, contract.UpdateRollback, contract.RollbackRequest{Steps: 1})
		rolled <- err
	}()
	require.Eventually(t, func() bool { return l.count("slow_undo:b") == 1 }, time.Minute, 10*time.Millisecond)
	require.NoError(t, b.client.CancelWorkflow(b.ctx, run.GetID(), ""))
	close(l.gate("undo"))
	require.NoError(t, <-rolled)
	p, h, err := b.finish(run)
	var canceled *temporal.CanceledError
	require.True(t, errors.As(err, &canceled), "%v", err)
	require.Equal(t, "CANCELLED", p.Status)
	requireContiguous(t, h)
	require.Equal(t, 1, l.count("slow_undo:b"), "b is compensated once, by the rollback")
	require.Equal(t, 1, l.count("undo:a"), "a once, by the cancel")
	require.Equal(t, []string{"b", "a"}, steps(h, statemachine.EventCompensate))
}

// A pause starts no new item of a map step; the items in flight finish,
// and the rest start after the resume.
func TestPauseHoldsAMapsNextItems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := controlActions(b)
	b.reg.MustRegister("gated_item", func(ctx context.Context, in contract.StepInput) (any, error) {
		name := fmt.Sprintf("item-%v", in.Item)
		l.add(name)
		select {
		case <-l.gate(name):
			return in.Item, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	b.startWorker()
	run := b.start(b.plan(`
workflow_id: paused-map
initial_step: each
steps:
  - name: each
    map: {items: "[1, 2, 3, 4]", action: gated_item, concurrency: 2}
`), nil)
	require.Eventually(t, func() bool { return len(l.list()) == 2 }, time.Minute, 10*time.Millisecond)
	_, err := b.update(run, contract.UpdatePause, contract.Reason{})
	require.NoError(t, err)
	close(l.gate("item-1"))
	close(l.gate("item-2"))
	scheduled := func() (n, completed int, settled bool) {
		events := b.events(run.GetID(), "")
		for _, ev := range events {
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				n++
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				completed++
			}
		}
		last := events[len(events)-1].GetEventType()
		return n, completed, last == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED || last == enumspb.EVENT_TYPE_MARKER_RECORDED
	}
	// Once the run has handled both completions, it has started no third.
	require.Eventually(t, func() bool { _, c, settled := scheduled(); return c == 2 && settled }, time.Minute, 20*time.Millisecond)
	n, _, _ := scheduled()
	require.Equal(t, 2, n, "no new item starts while paused")
	_, err = b.update(run, contract.UpdateResume, contract.Reason{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(l.list()) == 4 }, time.Minute, 10*time.Millisecond)
	close(l.gate("item-3"))
	close(l.gate("item-4"))
	_, _, err = b.finish(run)
	require.NoError(t, err)
}
