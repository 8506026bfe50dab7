package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktemporal "go.temporal.io/sdk/temporal"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// A step whose input would be over Temporal's payload limit fails with a
// routable PayloadTooLarge instead of leaving the run stuck on a workflow
// task the server refuses; the worker then serves the next run normally.
func TestStepInputOverTheLimitFailsTheStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorker()
	big := strings.Repeat("x", 1200<<10)
	const def = `
workflow_id: too-big
initial_step: double
steps:
  - name: double
    action: log
    params: {message: "two copies"}
    input: {a: "input.x", b: "input.x"}
    conditions: {ROUTE}
  - {name: handled, type: succeed}
`
	t.Run("routed", func(t *testing.T) {
		t.Parallel()
		b := b.with(t)
		plan := b.plan(strings.ReplaceAll(def, "ROUTE", "PayloadTooLarge: handled"))
		var res workflows.Result
		require.NoError(t, b.start(plan, map[string]any{"x": big}).Get(b.ctx, &res))
		require.Equal(t, statemachine.Complete, res.State)
		require.Equal(t, "PayloadTooLarge", res.Steps["double"].(map[string]any)["error_type"])
	})
	t.Run("not routed", func(t *testing.T) {
		t.Parallel()
		b := b.with(t)
		plan := b.plan(strings.ReplaceAll(def, "{ROUTE}", "{}"))
		p, _, err := b.finish(b.start(plan, map[string]any{"x": big}))
		require.Error(t, err)
		require.Equal(t, "FAILED", p.Status)
		require.Contains(t, p.Error, "PayloadTooLarge: the input of step double is")
		require.Contains(t, p.Error, "over the limit")

		// The worker is fine: the next run completes.
		next := b.plan(strings.ReplaceAll(def, "{ROUTE}", "{}"))
		p, _, err = b.finish(b.start(next, map[string]any{"x": "small"}))
		require.NoError(t, err)
		require.Equal(t, "COMPLETE", p.Status)
	})
}

// Each item of a map step gets its item (or its input mapping over the
// item) as input, never the run's whole input.
func TestMapItemsGetOnlyTheirItem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	seen := map[int]any{}
	b.reg.MustRegister("see", func(ctx context.Context, in contract.StepInput) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		seen[in.Index] = in.Input
		return nil, nil
	})
	b.startWorker()
	for _, tc := range []struct {
		name, input string
		want        []any
	}{
		{"the item", "", []any{1.0, 2.0, 3.0}},
		{"a mapping over the item", `input: {twice: "item * 2.0", tag: "input.tag"}`, []any{
			map[string]any{"twice": 2.0, "tag": "t"}, map[string]any{"twice": 4.0, "tag": "t"}, map[string]any{"twice": 6.0, "tag": "t"},
		}},
	} {
		plan := b.plan(`
workflow_id: items
initial_step: each
steps:
  - name: each
    map: {items: input.list, action: see, concurrency: 1}
    ` + tc.input + `
`)
		mu.Lock()
		clear(seen)
		mu.Unlock()
		p, h, err := b.finish(b.start(plan, map[string]any{"list": []any{1, 2, 3}, "tag": "t", "bulk": strings.Repeat("y", 10_000)}))
		require.NoError(t, err, tc.name)
		require.Equal(t, "COMPLETE", p.Status, tc.name)
		require.Equal(t, []string{"each"}, steps(h, statemachine.EventStepCompleted))
		mu.Lock()
		require.Equal(t, map[int]any{0: tc.want[0], 1: tc.want[1], 2: tc.want[2]}, seen, tc.name)
		mu.Unlock()
	}
}

// A map over 20,000 items runs them in child workflows of MapBatchSize,
// so neither the run's history nor a batch's grows with the items.
func TestMapOverTwentyThousandItems(t *testing.T) {
	t.Parallel()
	const n = 20_000
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	b.ctx = ctx
	b.reg.MustRegister("square", func(ctx context.Context, in contract.StepInput) (any, error) {
		x, _ := in.Input.(float64)
		return x * x, nil
	})
	b.startWorker()
	plan := b.plan(`
workflow_id: many-items
initial_step: each
steps:
  - name: each
    map: {items: input.list, action: square, concurrency: 50}
`)
	list := make([]any, n)
	for i := range list {
		list[i] = i
	}
	run := b.start(plan, map[string]any{"list": list})
	var res workflows.Result
	require.NoError(t, getResult(ctx, run, &res))
	require.Equal(t, statemachine.Complete, res.State)
	out := res.Steps["each"].([]any)
	require.Len(t, out, n)
	for i, v := range out {
		require.InDelta(t, float64(i*i), v, 0, "item %d", i)
	}

	parent := b.events(run.GetID(), "")
	batches := 0
	for _, ev := range parent {
		if ev.GetStartChildWorkflowExecutionInitiatedEventAttributes() != nil {
			batches++
		}
	}
	require.Equal(t, n/workflows.MapBatchSize, batches)
	largestBatch := 0
	for off := 0; off < n; off += workflows.MapBatchSize {
		largestBatch = max(largestBatch, len(b.events(fmt.Sprintf("%s/each/items-%d", run.GetID(), off), "")))
	}
	t.Logf("%d items: the run's history has %d events, the largest batch's %d", n, len(parent), largestBatch)
	require.Less(t, len(parent), 1000)
	require.Less(t, largestBatch, 10*workflows.MapBatchSize)
}

// Every expression sees what the README says it sees, in every place an
// expression can stand: when (input, steps, result), input mappings
// (input, steps, item), map items (input, steps) and the transform
// action's mapping (input, steps, item), with integers mixing with the
// doubles JSON numbers arrive as.
func TestExpressionsSeeTheirVariables(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorker()
	plan := b.plan(`
workflow_id: vars
initial_step: first
steps:
  - name: first
    action: transform
    params: {mapping: {n: "input.start + 1", tag: "input.tag"}}
    when:
      - if: "result.n == 2 && input.tag == 't' && steps.first.n == 2"
        next: each
    next: wrong
  - name: each
    map: {items: "[steps.first.n, input.start]", action: transform, params: {mapping: {item: "item", x: "input.x", prev: "steps.first.n", tag: "input.tag"}}}
    input: {x: "item * 10", tag: "input.tag + '!'", prev: "steps.first.n"}
    next: last
  - name: last
    action: transform
    input: {plus: "steps.each[0].x + 1"}
    params: {mapping: {sum: "steps.each[0].item + steps.each[1].item", plus: "input.plus", first: "steps.first.n"}}
    next: done
  - {name: done, type: succeed}
  - {name: wrong, type: fail, error: "the condition did not hold"}
`)
	var res workflows.Result
	require.NoError(t, b.start(plan, map[string]any{"start": 1, "tag": "t"}).Get(b.ctx, &res))
	require.Equal(t, statemachine.Complete, res.State)
	require.Equal(t, map[string]any{"n": 2.0, "tag": "t"}, res.Steps["first"])
	require.Equal(t, []any{
		map[string]any{"item": 2.0, "x": 20.0, "prev": 2.0, "tag": "t!"},
		map[string]any{"item": 1.0, "x": 10.0, "prev": 2.0, "tag": "t!"},
	}, res.Steps["each"])
	require.Equal(t, map[string]any{"sum": 3.0, "plus": 21.0, "first": 2.0}, res.Steps["last"])
}

// A map just over MapBatchSize runs in batches too, with its input
// mapping evaluated by the run; its histories are replay fixtures.
func TestMapBatchesWithAnInputMapping(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.reg.MustRegister("echo", func(ctx context.Context, in contract.StepInput) (any, error) {
		return in.Input, nil
	})
	b.startWorker()
	plan := b.plan(`
workflow_id: batches
initial_step: each
steps:
  - name: each
    map: {items: input.list, action: echo, concurrency: 20}
    input: {x: "item + input.base"}
`)
	n := workflows.MapBatchSize + 3
	list := make([]any, n)
	for i := range list {
		list[i] = i
	}
	run := b.start(plan, map[string]any{"list": list, "base": 1000})
	var res workflows.Result
	require.NoError(t, run.Get(b.ctx, &res))
	out := res.Steps["each"].([]any)
	require.Len(t, out, n)
	for i, v := range out {
		require.Equal(t, map[string]any{"x": float64(1000 + i)}, v)
	}
	b.record("map-batches", run.GetID(), "")
	b.record("map-batch-last", fmt.Sprintf("%s/each/items-%d", run.GetID(), workflows.MapBatchSize), "")
}

// A carried state over the payload limit ends the run in FAILED with the
// reason, rather than a continue-as-new the server refuses forever.
func TestCarryOverTheLimitFailsTheRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.reg.MustRegister("big", func(ctx context.Context, in contract.StepInput) (any, error) {
		return strings.Repeat("z", 900<<10), nil
	})
	b.startWorker()
	plan := b.plan(`
workflow_id: heavy
initial_step: a
steps:
  - {name: a, action: big}
  - {name: b, action: big}
  - {name: c, action: log}
`)
	p, h, err := b.finish(b.start(plan, nil, func(in *workflows.Input) { in.MaxStepsPerRun = 2 }))
	require.Error(t, err)
	require.Equal(t, "FAILED", p.Status)
	require.Contains(t, p.Error, "PayloadTooLarge: the state carried into the next run is")
	require.Contains(t, p.Error, "rollback_window")
	require.Equal(t, []string{"a", "b"}, steps(h, statemachine.EventStepCompleted))
}

// An expression that builds a huge list fails its step with an
// ExpressionError, in a condition and in an input mapping, instead of
// blocking the workflow task or eating the worker's memory; the worker
// serves the next run.
func TestExpressionBombsFailTheStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorker()
	bomb := "[[1]]"
	for i := range 24 {
		bomb = fmt.Sprintf("%s.map(a%d, a%d + a%d)", bomb, i, i, i)
	}
	for _, tc := range []struct{ name, step string }{
		{"condition", `{name: a, action: log, when: [{if: "size(` + bomb + `) > 0", next: done}]}`},
		{"input mapping", `{name: a, action: log, input: {x: "` + bomb + `"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := b.with(t)
			plan := b.plan("workflow_id: bomb\ninitial_step: a\nsteps:\n  - " + tc.step + "\n  - {name: done, type: succeed}\n")
			p, _, err := b.finish(b.start(plan, nil))
			require.Error(t, err)
			require.Equal(t, "FAILED", p.Status)
			require.Contains(t, p.Error, "ExpressionError")
			require.Contains(t, p.Error, "expression exceeds a limit: cost limit of 1000000 units reached")
		})
	}
	p, _, err := b.finish(b.start(b.plan("workflow_id: fine\ninitial_step: a\nsteps:\n  - {name: a, action: log}\n"), nil))
	require.NoError(t, err)
	require.Equal(t, "COMPLETE", p.Status)
}

// A run started without the starter (the Temporal CLI, a program) on an
// input its definition's input_schema refuses fails with BadInput before
// any step.
func TestInputSchemaCheckedByTheWorkflow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorker()
	run := b.start(b.load("../examples/review-rollback.yaml"), map[string]any{"account": 7})
	err := run.Get(b.ctx, nil)
	var app *sdktemporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, workflows.ErrTypeBadInput, app.Type())
	require.Contains(t, app.Message(), "input/account: got number, want string")
	for _, ev := range b.events(run.GetID(), "") {
		require.Nil(t, ev.GetActivityTaskScheduledEventAttributes(), "no step ran")
	}
}

// A run whose outputs together are over the payload limit completes
// without them in its result, saying why, instead of a completion the
// server refuses forever.
func TestResultOverTheLimitOmitsTheOutputs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.reg.MustRegister("big", func(ctx context.Context, in contract.StepInput) (any, error) {
		return strings.Repeat("z", 900<<10), nil
	})
	b.startWorker()
	plan := b.plan(`
workflow_id: heavy-result
initial_step: a
steps:
  - {name: a, action: big}
  - {name: b, action: big}
`)
	var res workflows.Result
	require.NoError(t, b.start(plan, nil).Get(b.ctx, &res))
	require.Equal(t, statemachine.Complete, res.State)
	require.Empty(t, res.Steps)
	require.Contains(t, res.StepsOmitted, "the run's result (its step outputs) is")
}
