package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/statedriven/statedriven/definition"
)

// MapBatchWorkflowType is the registered name of the workflow that runs
// one batch of a large map step's items, as a child of the run.
const MapBatchWorkflowType = "StateDrivenMapBatch"

// MapBatchSize is the most items a run's own history holds for one map
// step: a map over more runs its items in child workflows of this many.
// An item costs about six history events (its activity's three and a
// share of the workflow tasks), so a batch stays near 3,000 events, far
// from Temporal's limits of 51,200 events and 50 MB per history.
const MapBatchSize = 500

// MapBatchInput is the input of one batch of a map step.
type MapBatchInput struct {
	// WorkflowID and RunID are the run's, which the step's actions see.
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Definition string `json:"definition"`
	// Step is the map step.
	Step definition.PlanStep `json:"step"`
	// Items are the batch's items; Offset is the index of the first.
	Items  []any `json:"items"`
	Offset int   `json:"offset"`
	// Inputs are the items' inputs when the step has an input mapping
	// (the run evaluates it: it sees the run's data); without them each
	// item is its own input.
	Inputs []any `json:"inputs,omitempty"`
}

// MapBatchResult is what a batch returns: its items' outputs in order.
type MapBatchResult struct {
	Results []any `json:"results"`
}

// MapBatch runs one batch of a map step's items with the step's action,
// concurrency, retry policy and timeouts. The first item that fails for
// good fails the batch with its error type, so the step routes on it.
func MapBatch(ctx workflow.Context, in MapBatchInput) (MapBatchResult, error) {
	r := &run{
		plan:   &definition.Plan{Name: in.Definition},
		logger: workflow.GetLogger(ctx),
		origin: &workflow.Execution{ID: in.WorkflowID, RunID: in.RunID},
	}
	results, f := r.mapItems(ctx, &in.Step, in.Items, in.Offset, func(i int) (any, *failure) {
		if in.Inputs != nil {
			return in.Inputs[i], nil
		}
		return in.Items[i], nil
	})
	if f != nil {
		return MapBatchResult{}, temporal.NewNonRetryableApplicationError(f.Message, f.Type, nil)
	}
	out := MapBatchResult{Results: results}
	if f := checkPayload(fmt.Sprintf("the outputs of items %d to %d of step %s", in.Offset, in.Offset+len(in.Items)-1, in.Step.Name), out,
		"make the action's output smaller"); f != nil {
		return MapBatchResult{}, temporal.NewNonRetryableApplicationError(f.Message, f.Type, nil)
	}
	return out, nil
}

// mapBatches runs a map step's items in child workflows of MapBatchSize
// items, one batch after the other (each at the step's concurrency).
func (r *run) mapBatches(ctx workflow.Context, s *definition.PlanStep, items []any) (any, *failure) {
	exec := r.execution(ctx)
	results := make([]any, 0, len(items))
	for off := 0; off < len(items); off += MapBatchSize {
		if r.control && r.paused {
			// A pause starts no new batch; the one running has finished.
			if err := workflow.Await(ctx, func() bool { return !r.paused }); err != nil {
				return nil, asFailure(err)
			}
		}
		end := min(off+MapBatchSize, len(items))
		in := MapBatchInput{WorkflowID: exec.ID, RunID: exec.RunID, Definition: r.plan.Name, Step: *s, Items: items[off:end], Offset: off}
		if len(s.Input) > 0 {
			in.Inputs = make([]any, 0, end-off)
			for i := off; i < end; i++ {
				v, f := r.evalInput(s, items[i])
				if f != nil {
					return nil, &failure{Type: f.Type, Message: fmt.Sprintf("item %d: %s", i, f.Message)}
				}
				in.Inputs = append(in.Inputs, v)
			}
		}
		if f := checkPayload(fmt.Sprintf("the batch of items %d to %d of step %s", off, end-1, s.Name), in,
			"make the items or their input mapping smaller"); f != nil {
			return nil, f
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:    fmt.Sprintf("%s/%s/items-%d", exec.ID, s.Name, off),
			TaskQueue:     workflow.GetInfo(ctx).TaskQueueName,
			StaticSummary: fmt.Sprintf("%s: items %d to %d of %d", s.Name, off, end-1, len(items)),
		})
		var out MapBatchResult
		if err := workflow.ExecuteChildWorkflow(cctx, MapBatchWorkflowType, in).Get(ctx, &out); err != nil {
			return nil, asFailure(err)
		}
		results = append(results, out.Results...)
	}
	return results, nil
}

// execution is the run the step's actions belong to: this workflow's, or
// for a map batch the run that started it.
func (r *run) execution(ctx workflow.Context) workflow.Execution {
	if r.origin != nil {
		return *r.origin
	}
	return workflow.GetInfo(ctx).WorkflowExecution
}
