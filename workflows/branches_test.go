package workflows_test

import (
	"context"
	"path"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// A map step and a sub-workflow step run as the branches of one parallel
// step: their outputs reach the group's and their own names, each counts
// as one step of progress when it finishes, and on_branch_failure applies
// to them as to an action branch.
func TestMapAndSubWorkflowAsParallelBranches(t *testing.T) {
	t.Parallel()
	const parent = `
workflow_id: branches
initial_step: group
steps:
  - name: group
    type: parallel
    branches: [each, sub]
    on_branch_failure: MODE
    conditions: {BadItem: handled}
  - name: each
    map: {items: "input.orders", action: item, concurrency: 2}
  - name: sub
    workflow: {file: child.yaml}
    input: {who: "input.name"}
  - name: after
    action: log
    params: {message: after}
  - name: handled
    type: fail
    error: a branch failed
`
	const (
		greetingChild = `
workflow_id: greeting
initial_step: greet
steps:
  - name: greet
    action: echo
`
		waitingChild = `
workflow_id: waiting
initial_step: hold
steps:
  - name: hold
    wait: {signal: never}
`
		failingChild = `
workflow_id: failing
initial_step: nope
steps:
  - name: nope
    type: fail
    error: the child says no
`
	)
	orders := []any{"a", "b", "c"}

	t.Run("both succeed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		gate := make(chan struct{})
		b.reg.MustRegister("item", func(ctx context.Context, in contract.StepInput) (any, error) {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return map[string]any{"item": in.Item, "index": in.Index}, nil
		})
		b.reg.MustRegister("echo", func(ctx context.Context, in contract.StepInput) (any, error) {
			return map[string]any{"input": in.Input}, nil
		})
		b.startWorker()
		plan := b.plan(replace(parent, "MODE", "fail_fast"), childFile(t, greetingChild))
		require.Equal(t, 3, plan.TotalSteps, "two branches and after")
		run := b.start(plan, map[string]any{"orders": orders, "name": "ann"})

		// The sub-workflow finishes while the map's items are held: one
		// step of three is done, the map still runs.
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", contract.QueryProgress)
			var p contract.Progress
			if assert.NoError(c, err) && assert.NoError(c, v.Get(&p)) {
				assert.Equal(c, 1, p.CompletedSteps)
				assert.Equal(c, []string{"each"}, p.CurrentSteps)
			}
		}, time.Minute, 20*time.Millisecond)
		p := b.progress(run)
		require.Equal(t, "PROCESSING", p.Status)
		require.Equal(t, 3, p.TotalSteps)
		require.Equal(t, 33, p.ProgressPercentage)
		close(gate)

		var res workflows.Result
		require.NoError(t, run.Get(b.ctx, &res))
		require.Equal(t, statemachine.Complete, res.State)
		each := make([]any, len(orders))
		for i, o := range orders {
			each[i] = map[string]any{"item": o, "index": float64(i)}
		}
		require.Equal(t, each, res.Steps["each"], "the map's outputs in the items' order")
		sub := map[string]any{"state": "COMPLETE", "steps": map[string]any{"greet": map[string]any{"input": map[string]any{"who": "ann"}}}}
		require.Equal(t, sub, res.Steps["sub"], "the sub-workflow's result, its input mapped")
		require.Equal(t, map[string]any{"each": each, "sub": sub}, res.Steps["group"])

		p, h, err := b.finish(run)
		require.NoError(t, err)
		require.Equal(t, "COMPLETE", p.Status)
		require.Equal(t, 3, p.CompletedSteps)
		require.Equal(t, 3, p.TotalSteps)
		require.Equal(t, 100, p.ProgressPercentage)
		requireContiguous(t, h)
		require.Equal(t, []string{"sub", "each", "after"}, steps(h, statemachine.EventStepCompleted), "branches count in the order they finish")

		// The sub-workflow keeps its own count.
		cp := b.progress(b.client.GetWorkflow(b.ctx, run.GetID()+"/sub", ""))
		require.Equal(t, "COMPLETE", cp.Status)
		require.Equal(t, 1, cp.CompletedSteps)
	})

	t.Run("a failing map item fails fast and cancels the sub-workflow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		release := make(chan struct{})
		b.reg.MustRegister("item", func(ctx context.Context, in contract.StepInput) (any, error) {
			if in.Item != "b" {
				return map[string]any{"item": in.Item}, nil
			}
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return nil, activities.NewNonRetryableError("BadItem", "item %v is bad", in.Item)
		})
		b.startWorker()
		plan := b.plan(replace(parent, "MODE", "fail_fast"), childFile(t, waitingChild))
		run := b.start(plan, map[string]any{"orders": orders, "name": "ann"})
		child := b.client.GetWorkflow(b.ctx, run.GetID()+"/sub", "")
		// The item fails only once the sub-workflow is under way, so the
		// cancellation has a running child to reach.
		b.waitState(child, statemachine.Waiting)
		close(release)

		p, h, err := b.finish(run)
		require.Error(t, err)
		require.Equal(t, "FAILED", p.Status)
		require.Equal(t, "a branch failed (step group failed: BadItem: branch each: item 1: item b is bad)", p.Error)
		require.Empty(t, steps(h, statemachine.EventStepCompleted), "neither branch completed")
		require.Equal(t, 0, p.CompletedSteps)
		require.Equal(t, "handled", h[len(h)-1].Step)
		requireContiguous(t, h)

		cp, _, err := b.finish(child)
		require.Error(t, err)
		require.Equal(t, "CANCELLED", cp.Status)
		desc, err := b.client.DescribeWorkflowExecution(b.ctx, child.GetID(), "")
		require.NoError(t, err)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, desc.GetWorkflowExecutionInfo().GetStatus())
	})

	t.Run("a failing sub-workflow is ignored", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.reg.MustRegister("item", func(ctx context.Context, in contract.StepInput) (any, error) {
			return map[string]any{"item": in.Item}, nil
		})
		b.startWorker()
		plan := b.plan(replace(parent, "MODE", "ignore"), childFile(t, failingChild))
		run := b.start(plan, map[string]any{"orders": orders, "name": "ann"})

		var res workflows.Result
		require.NoError(t, run.Get(b.ctx, &res))
		require.Equal(t, statemachine.Complete, res.State)
		sub := map[string]any{"error": "step nope: the child says no", "error_type": workflows.ErrTypeRunFailed}
		require.Equal(t, sub, res.Steps["sub"], "the failed branch's output is its error")
		require.Equal(t, sub, res.Steps["group"].(map[string]any)["sub"])
		require.Len(t, res.Steps["each"], len(orders))

		p, h, err := b.finish(run)
		require.NoError(t, err)
		require.Equal(t, "COMPLETE", p.Status)
		require.Equal(t, []string{"each", "after"}, steps(h, statemachine.EventStepCompleted), "a failed branch does not count")
		require.Equal(t, 2, p.CompletedSteps)
		require.Equal(t, 2, p.TotalSteps, "a finished run counts the steps it completed")
		require.Equal(t, 100, p.ProgressPercentage)
		requireContiguous(t, h)
	})
}

// childFile is the files of b.plan holding child.yaml: b.plan names the
// definition after the test, so a subtest's definition sits in a folder
// named after its parent test, and its sub-workflow file next to it.
func childFile(t *testing.T, text string) map[string]string {
	return map[string]string{path.Join(path.Dir(t.Name()), "child.yaml"): text}
}
