package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/statemachine"
)

const reviewAfterWorkYAML = `
workflow_id: refusals
initial_step: hold
steps:
  - name: hold
    action: gated
  - name: confirmation
    wait: {signal: proceed}
  - name: approve
    type: review
    review: {}
    conditions: {success: done, failure: declined}
  - name: done
    type: succeed
  - name: declined
    type: fail
    error: declined
`

// trace is what a refused update must leave as it was: the run's events
// and the machine's history and state.
type trace struct {
	events  []*historypb.HistoryEvent
	history []statemachine.Record
	state   contract.StateView
}

func (b *bundle) trace(run client.WorkflowRun) trace {
	b.t.Helper()
	v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", contract.QueryState)
	require.NoError(b.t, err)
	var st contract.StateView
	require.NoError(b.t, v.Get(&st))
	return trace{events: b.events(run.GetID(), ""), history: b.history(run), state: st}
}

// acceptedUpdates lists the IDs of the updates the run's events accepted.
func acceptedUpdates(events []*historypb.HistoryEvent) []string {
	var ids []string
	for _, ev := range events {
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
			ids = append(ids, a.GetAcceptedRequest().GetMeta().GetUpdateId())
		}
	}
	return ids
}

// The approve and reject validator refuses a decision the run does not
// wait for, while it works, waits for a signal or is paused in review;
// a refused update leaves no event in the run's history and no record in
// the machine's.
func TestReviewValidatorRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	gate := make(chan struct{})
	b.reg.MustRegister("gated", func(ctx context.Context, in contract.StepInput) (any, error) {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return nil, nil
	})
	b.startWorker()
	run := b.start(b.plan(reviewAfterWorkYAML), nil)
	signal := func(name string) {
		require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", name, contract.Reason{Reason: "test"}))
	}

	// The phases of one run, in order: each brings the run to a state in
	// which every decision is refused.
	for _, phase := range []struct {
		name  string
		reach func()
		state statemachine.State
		why   string
	}{
		{"working", func() {}, statemachine.Processing, "the run is PROCESSING, not waiting for a review"},
		{"waiting for a signal", func() { close(gate) }, statemachine.Waiting, "the run is WAITING, not waiting for a review"},
		{"paused in review", func() {
			signal("proceed")
			b.waitState(run, statemachine.Review)
			signal(contract.SignalPause)
		}, statemachine.Paused, "the run is paused: resume it before deciding its review"},
	} {
		phase.reach()
		b.waitState(run, phase.state)
		before := b.trace(run)
		for _, update := range []string{contract.UpdateApprove, contract.UpdateReject} {
			err := b.decide(run, update, "refused "+update)
			require.ErrorContains(t, err, phase.why, "%s while %s", update, phase.name)
		}
		after := b.trace(run)
		require.Equal(t, len(before.events), len(after.events), "%s: a refused update adds no event", phase.name)
		require.Empty(t, acceptedUpdates(after.events), phase.name)
		require.Equal(t, before.history, after.history, "%s: a refused update adds no record", phase.name)
		require.Equal(t, before.state, after.state, phase.name)
	}

	// Resumed, the run takes the decision it refused while paused.
	signal(contract.SignalResume)
	b.waitState(run, statemachine.Review)
	require.NoError(t, b.decide(run, contract.UpdateApprove, "now"))
	p, h, err := b.finish(run)
	require.NoError(t, err)
	require.Equal(t, "COMPLETE", p.Status)
	require.Equal(t, []string{"hold", "confirmation", "approve"}, steps(h, statemachine.EventStepCompleted))
	require.Len(t, acceptedUpdates(b.events(run.GetID(), "")), 1)
	for _, r := range h {
		require.NotContains(t, r.Reason, "refused", "record %d", r.Seq)
	}
}

// Two decisions that reach the run in the same workflow task: the first
// is taken, the second refused as already decided, and only the first is
// in the run's history.
func TestReviewValidatorRefusesASecondDecision(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Here the first step does not hold the run, and the signal waits in
	// its channel for the wait step.
	b.reg.MustRegister("gated", func(ctx context.Context, in contract.StepInput) (any, error) { return nil, nil })
	stop := b.startWorker()
	run := b.start(b.plan(reviewAfterWorkYAML), nil)
	require.NoError(t, b.client.SignalWorkflow(b.ctx, run.GetID(), "", "proceed", nil))
	b.waitState(run, statemachine.Review)

	// With no worker, the server holds both updates until one polls, and
	// then hands them over in one workflow task.
	stop()
	ids := []string{"approve-1", "reject-1"}
	names := map[string]string{"approve-1": contract.UpdateApprove, "reject-1": contract.UpdateReject}
	results := make(chan decided, len(ids))
	outcome := map[string]error{}
	for _, id := range ids {
		go func() {
			upd, err := b.client.UpdateWorkflow(b.ctx, client.UpdateWorkflowOptions{
				UpdateID: id, WorkflowID: run.GetID(), UpdateName: names[id], Args: []any{contract.Reason{Reason: "by " + id}},
				WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err == nil {
				err = upd.Get(b.ctx, nil)
			}
			results <- decided{id: id, err: err}
		}()
	}
	for _, id := range ids {
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(b.ctx, time.Second)
			defer cancel()
			resp, err := b.client.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
				Namespace:  sharedServer(t).GetDefaultNamespace(),
				UpdateRef:  &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()}, UpdateId: id},
				WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED},
			})
			return err == nil && resp.GetStage() >= enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
		}, time.Minute, 20*time.Millisecond, "update %s never admitted", id)
	}
	b.startWorker()
	for range ids {
		d := <-results
		outcome[d.id] = d.err
	}

	var taken, refused string
	for _, id := range ids {
		if outcome[id] == nil {
			taken = id
		} else {
			refused = id
			require.ErrorContains(t, outcome[id], "the review has already been decided")
		}
	}
	require.NotEmpty(t, taken, "one decision is taken: %v", outcome)
	require.NotEmpty(t, refused, "one decision is refused: %v", outcome)
	// Which comes first is the server's choice.
	t.Logf("taken: %s, refused: %s", taken, refused)
	require.Equal(t, []string{taken}, acceptedUpdates(b.events(run.GetID(), "")))

	p, h, err := b.finish(run)
	for _, r := range h {
		require.NotContains(t, r.Reason, "by "+refused, "record %d", r.Seq)
	}
	if names[taken] == contract.UpdateApprove {
		require.NoError(t, err)
		require.Equal(t, "COMPLETE", p.Status)
		require.Equal(t, []string{"hold", "confirmation", "approve"}, steps(h, statemachine.EventStepCompleted))
		return
	}
	require.Error(t, err)
	require.Equal(t, "FAILED", p.Status)
	require.Equal(t, "declined (step approve failed: Rejected: rejected: by reject-1)", p.Error)
	require.Equal(t, []string{"hold", "confirmation"}, steps(h, statemachine.EventStepCompleted))
}

// decided is one update's outcome.
type decided struct {
	id  string
	err error
}
