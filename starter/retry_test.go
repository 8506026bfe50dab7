package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/workflows"
)

func TestRedrivePoint(t *testing.T) {
	t.Parallel()
	plan := &definition.Plan{Steps: []definition.PlanStep{
		{Name: "load"},
		{Name: "fan", Branches: []string{"left", "right"}},
		{Name: "left", Group: "fan"},
		{Name: "right", Group: "fan"},
		{Name: "ship"},
	}}
	ended := func(res *workflows.Result) *client.Ended {
		return &client.Ended{WorkflowID: "order-42", RunID: "run-1", Result: res}
	}
	outputs := map[string]any{"load": 1, "fan": 2, "left": 3, "right": 4}

	cases := []struct {
		name      string
		from      string
		res       *workflows.Result
		want      string
		carried   map[string]any
		code      int
		errSubstr string
	}{
		{name: "where the run stopped", res: &workflows.Result{Step: "ship", Steps: outputs},
			want: "ship", carried: outputs},
		{name: "from a step, its output dropped", from: "load", res: &workflows.Result{Step: "ship", Steps: outputs},
			want: "load", carried: map[string]any{"fan": 2, "left": 3, "right": 4}},
		{name: "from a group, its branches' outputs dropped", from: "fan", res: &workflows.Result{Steps: outputs},
			want: "fan", carried: map[string]any{"load": 1}},
		{name: "stopped in a branch: the whole group", res: &workflows.Result{Step: "left", Steps: outputs},
			want: "fan", carried: map[string]any{"load": 1}},
		{name: "no outputs", res: &workflows.Result{Step: "load"}, want: "load"},
		{name: "from a branch", from: "right", res: &workflows.Result{Step: "ship"}, code: exitBadUsed,
			errSubstr: "--from right is a branch of parallel step fan (a branch runs only inside its group: start from the group); give one of: load, fan, ship"},
		{name: "from no step", from: "pack", code: exitBadUsed,
			errSubstr: "--from pack is not a step of the plan; give one of: load, fan, ship"},
		{name: "the run does not say", res: &workflows.Result{}, code: exitFailed,
			errSubstr: "run run-1 of order-42 does not say which step it stopped at (its worker is older than retry, or it ended before its first step): give --from STEP, one of: load, fan, ship"},
		{name: "no result at all", code: exitFailed, errSubstr: "does not say which step it stopped at"},
		{name: "a step the plan lacks", res: &workflows.Result{Step: "gone"}, code: exitFailed,
			errSubstr: "run run-1 of order-42 stopped at step gone, which its plan does not have"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			from, carried, err := redrivePoint(plan, tc.from, ended(tc.res))
			if tc.code != 0 {
				var ee *exitError
				require.ErrorAs(t, err, &ee)
				require.Equal(t, tc.code, ee.code)
				require.Contains(t, err.Error(), tc.errSubstr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, from)
			require.Equal(t, tc.carried, carried)
		})
	}
	require.Equal(t, map[string]any{"load": 1, "fan": 2, "left": 3, "right": 4}, outputs, "the old run's outputs are not changed")
}
