package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/activities"
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
	b.reg.MustRegister("see", func(ctx context.Context, in activities.StepInput) (any, error) {
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
