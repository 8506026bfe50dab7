package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/workflows"
)

// retryView is, in what retry prints, the run the new one continues.
type retryView struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	State      string `json:"state"`
	From       string `json:"from"`
	// Carried are the steps whose outputs the new run starts with.
	Carried []string `json:"carried,omitempty"`
}

// newRetry makes the retry verb: a redrive of a FAILED or CANCELLED run.
func newRetry(g *globals) *cobra.Command {
	var (
		reason, from, input, newID string
		wait                       bool
	)
	cmd := &cobra.Command{
		Use:   "retry ID [--from STEP] [--input JSON|@file] [--id NEWID]",
		Short: "Start a FAILED or CANCELLED run again from the step it stopped at, keeping the outputs of the steps that had succeeded",
		Long: "retry starts a new run that continues the latest run of workflow ID, which must have ended FAILED or\n" +
			"CANCELLED (exit 1 otherwise). The new run follows the same plan (the one the old run followed at its\n" +
			"end, asked of the old run with the definition query when a modify changed it: that needs a worker)\n" +
			"and starts at the step the old run failed at or was cancelled in, or at --from STEP; the steps that\n" +
			"had succeeded are not run again, their outputs are carried over (all but the output of the step it\n" +
			"starts from). --from must name a step of the plan that is not a branch of a parallel group (exit 2\n" +
			"listing those it may name).\n\n" +
			"The data is the old run's input, or --input (a JSON object, checked against the input_schema as run\n" +
			"checks it). The new run has the same workflow ID unless --id gives another; it carries the old run's\n" +
			"ID in its input and in the RedrivenFrom search attribute (started without it, with a warning, where\n" +
			"the namespace lacks it). It prints the new run's workflow ID and run ID; with --wait it follows the\n" +
			"run as run --wait does, and exits with its outcome.",
		Example: "  starter retry order-42 --input @order-fixed.json --wait\n" +
			"  starter retry order-42 --from charge --reason 'card updated'",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			var data map[string]any
			withInput := cmd.Flags().Changed("input")
			if withInput {
				var err error
				if data, err = parseInput(input, g.stdin); err != nil {
					return &exitError{code: exitBadUsed, err: err}
				}
			}
			if cmd.Flags().Changed("id") && strings.TrimSpace(newID) == "" {
				return badInput("--id is empty: give an ID, or leave the flag out to retry under %s", id)
			}
			if cmd.Flags().Changed("from") && strings.TrimSpace(from) == "" {
				return badInput("--from is empty: give a step, or leave the flag out to start where the run stopped")
			}
			var m *mirror
			if wait {
				var err error
				if m, err = g.openMirror(""); err != nil {
					return err
				}
				if m != nil {
					defer m.close()
				}
			}

			ctx := cmd.Context()
			c, err := g.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()

			old, err := c.LastEnded(ctx, id)
			if err != nil {
				return failed(err)
			}
			plan, err := retryPlan(ctx, c, old)
			if err != nil {
				return err
			}
			start, steps, err := redrivePoint(plan, from, old)
			if err != nil {
				return err
			}
			if !withInput {
				data = old.Input.Data
			} else if err := checkInput("the plan of "+id, plan, data); err != nil {
				return err
			}
			req := client.StartRequest{
				Plan:      plan,
				Input:     data,
				ID:        id,
				TaskQueue: old.TaskQueue,
				Redrive: &workflows.Redrive{
					WorkflowID: old.WorkflowID,
					RunID:      old.RunID,
					From:       start,
					Steps:      steps,
					Reason:     reason,
					Who:        c.Identity(),
				},
			}
			if newID != "" {
				req.ID = newID
			}
			if err := req.Validate(); err != nil {
				return badInput("%v", err)
			}
			idle, err := c.Unpolled(ctx, client.Queues(plan, req.TaskQueue))
			if err != nil {
				return failed(err)
			}
			var warnings []string
			for _, u := range idle {
				w := idleWarning(u)
				g.warn("%s", w)
				warnings = append(warnings, w)
			}
			s, view, err := g.start(ctx, c, req, plan, warnings)
			if err != nil {
				return err
			}
			view.Retry = &retryView{
				WorkflowID: old.WorkflowID, RunID: old.RunID, State: old.State,
				From: start, Carried: slices.Sorted(maps.Keys(steps)),
			}
			return g.reportStarted(ctx, c, m, view, s, plan, wait)
		},
	}
	f := cmd.Flags()
	g.steerFlags(cmd, &reason)
	f.StringVar(&from, "from", "", "the step to start from (default: the step the run failed at or was cancelled in)")
	f.StringVar(&input, "input", "", "the new run's input: a JSON object, or @FILE to read one (@- for standard input); default: the old run's")
	f.StringVar(&newID, "id", "", "workflow ID of the new run (default: the old run's)")
	f.BoolVar(&wait, "wait", false, "follow the new run to the end and exit with its outcome")
	return cmd
}

// retryPlan is the plan the old run followed at its end: the one in its
// input, unless its Result names another hash (a modify replaced it),
// which only the run can tell (the definition query).
func retryPlan(ctx context.Context, c *client.Client, old *client.Ended) (*definition.Plan, error) {
	plan := &old.Input.Plan
	if old.Result == nil || old.Result.PlanHash == "" || old.Result.PlanHash == plan.Hash {
		return plan, nil
	}
	asked, err := c.PlanOf(ctx, old.WorkflowID, old.RunID)
	if err != nil {
		return nil, &exitError{code: exitFailed, err: fmt.Errorf(
			"run %s of %s followed a modified plan (%s), not the one it was started with (%s), and asking the run for it failed: %w "+
				"(the definition query needs a worker polling task queue %s; start one, or start the definition afresh with starter run)",
			old.RunID, old.WorkflowID, client.ShortHash(old.Result.PlanHash), client.ShortHash(plan.Hash), err, old.TaskQueue)}
	}
	return asked, nil
}

// redrivePoint chooses the step a redrive of old starts from (from, or
// the step old stopped at) and the step outputs it carries: old's, but
// for those of the step it starts from (and of its branches, for a
// parallel group). It needs no server, so that its refusals
// come with their exit codes: 2 for a --from the plan does not allow, 1
// when old does not say where it stopped and --from is not given.
func redrivePoint(plan *definition.Plan, from string, old *client.Ended) (string, map[string]any, error) {
	from = strings.TrimSpace(from)
	if from != "" {
		st := planStep(plan, from)
		if st == nil || st.Group != "" {
			why := "is not a step of the plan"
			if st != nil {
				why = "is a branch of parallel step " + st.Group + " (a branch runs only inside its group: start from the group)"
			}
			return "", nil, badInput("--from %s %s; give one of: %s", from, why, strings.Join(startableSteps(plan), ", "))
		}
	} else {
		if old.Result != nil {
			from = old.Result.Step
		}
		if from == "" {
			return "", nil, &exitError{code: exitFailed, err: fmt.Errorf(
				"run %s of %s does not say which step it stopped at (its worker is older than retry, or it ended before its first step): "+
					"give --from STEP, one of: %s", old.RunID, old.WorkflowID, strings.Join(startableSteps(plan), ", "))}
		}
		st := planStep(plan, from)
		if st == nil {
			return "", nil, &exitError{code: exitFailed, err: fmt.Errorf(
				"run %s of %s stopped at step %s, which its plan does not have: give --from STEP, one of: %s",
				old.RunID, old.WorkflowID, from, strings.Join(startableSteps(plan), ", "))}
		}
		if st.Group != "" {
			from = st.Group // a branch is redriven with its whole group
		}
	}
	var steps map[string]any
	if old.Result != nil && len(old.Result.Steps) > 0 {
		steps = maps.Clone(old.Result.Steps)
		delete(steps, from)
		// A group runs all its branches again.
		for _, b := range planStep(plan, from).Branches {
			delete(steps, b)
		}
	}
	return from, steps, nil
}

// planStep is the step of plan named name, nil when there is none.
func planStep(plan *definition.Plan, name string) *definition.PlanStep {
	for i := range plan.Steps {
		if plan.Steps[i].Name == name {
			return &plan.Steps[i]
		}
	}
	return nil
}

// startableSteps are the steps a redrive may start from: all but the
// branches of parallel groups, in the plan's order.
func startableSteps(plan *definition.Plan) []string {
	var out []string
	for _, st := range plan.Steps {
		if st.Group == "" {
			out = append(out, st.Name)
		}
	}
	return out
}
