package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

func newStatus(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status ID",
		Short: "Show a run's state, current steps, definition and times",
		Long: "status shows the latest run of workflow ID: its state and current steps (from the state query),\n" +
			"its definition, Temporal's status and its start and close times. When no worker can answer the\n" +
			"query (none polls the task queue), the state comes from the run's search attributes, and a\n" +
			"note says so.",
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
			d, err := c.Describe(ctx, args[0])
			if err != nil {
				return failed(err)
			}
			v := statusOf(d)
			if err := addLiveState(ctx, c, d, &v); err != nil {
				return failed(err)
			}
			if g.json {
				return g.printJSON(v)
			}
			return renderStatus(g.stdout, v)
		}),
	}
}

// addLiveState replaces the search attributes' state with the state
// query's answer when a worker can give one, and otherwise notes why the
// state is the one the run last recorded. Only an interruption is an error.
func addLiveState(ctx context.Context, c *client.Client, d *client.Description, v *statusView) error {
	const fallback = "so the state is the one the run last recorded in its search attributes"
	if n, err := c.Pollers(ctx, d.TaskQueue); err == nil && n == 0 {
		v.Note = fmt.Sprintf("no worker is polling task queue %s, %s (start a worker with make run for the live state)", d.TaskQueue, fallback)
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	s, err := c.State(qctx, d.WorkflowID)
	cancel()
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, client.ErrNoAnswer):
		v.Note = fmt.Sprintf("no worker answered the state query (is one polling task queue %s? start one with make run), %s", d.TaskQueue, fallback)
	case err != nil:
		v.Note = fmt.Sprintf("the state query failed (%v), %s", err, fallback)
	default:
		v.applyState(s)
	}
	return nil
}

// statusOf is what Temporal alone knows about a run: the state comes from
// the search attributes until a state query replaces it.
func statusOf(d *client.Description) statusView {
	v := statusView{
		WorkflowID:     d.WorkflowID,
		RunID:          d.RunID,
		Definition:     d.Definition,
		Summary:        d.Summary,
		State:          d.State,
		TemporalStatus: d.Status,
		TaskQueue:      d.TaskQueue,
		StartedAt:      d.Start.UTC(),
		Source:         sourceSearchAttributes,
	}
	if d.HasProgress {
		p := d.Progress
		v.Progress = &p
	}
	if !d.Close.IsZero() {
		t := d.Close.UTC()
		v.ClosedAt = &t
	}
	return v
}

func (v *statusView) applyState(s workflows.StateView) {
	v.State = s.State.String()
	v.Resumes = ""
	if s.State == statemachine.Paused {
		v.Resumes = s.Resumes.String()
	}
	v.CurrentSteps = s.CurrentSteps
	v.Source = sourceQuery
}
