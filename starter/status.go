package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/statemachine"
)

func newStatus(g *globals) *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show a run's state, current steps, definition and times",
		Long: "status shows the latest run of workflow ID: its state and current steps (from the state query),\n" +
			"its definition, Temporal's status and its start and close times; for a run that has ended, how it\n" +
			"ended and its error. When no worker can answer the query (none polls the task queue), the state\n" +
			"comes from the run's search attributes, and a note says so. A run whose worker fails its workflow\n" +
			"task again and again is shown stuck, with the worker's error; a step waiting on a task queue no\n" +
			"worker polls (a specialist's) is named with the queue.\n\n" +
			"With REDIS_URL set, the state, current steps, progress and definition come from the Redis mirror\n" +
			"(source \"redis\" in the JSON) instead of the state query, so no worker is needed for them; the\n" +
			"rest still comes from Temporal, which alone knows it: the run ID, Temporal's status, the task\n" +
			"queue and times, a stuck workflow task, steps waiting for a worker, and how a closed run ended.\n" +
			"When Temporal does not answer, status shows what the mirror has, with a note. A run that Redis\n" +
			"does not have, or a Redis that does not answer, is shown from Temporal alone (note on stderr).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id := args[0]
			m, err := g.openMirror(source)
			if err != nil {
				return err
			}
			var mirrored *contract.Progress
			if m != nil {
				defer m.close()
				rctx, cancel := readCtx(ctx)
				p, err := m.reader.Progress(rctx, id)
				cancel()
				switch {
				case err == nil:
					mirrored = &p
				case interrupted(ctx, err):
					return failed(ctx.Err())
				default:
					g.fallBack(m, id, err)
				}
			}
			v, err := g.describeStatus(ctx, id, mirrored)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(v)
			}
			return renderStatus(g.stdout, v)
		},
	}
	addSourceFlag(cmd, &source)
	return cmd
}

// describeStatus is what status shows: Temporal's description, with the
// state from the state query, or from mirrored when the mirror has the
// run. When Temporal cannot describe a mirrored run, it is the mirror
// alone, with a note.
func (g *globals) describeStatus(ctx context.Context, id string, mirrored *contract.Progress) (statusView, error) {
	mirrorOnly := func(err error) statusView {
		v := statusView{WorkflowID: id}
		v.applyProgress(*mirrored)
		v.Note = fmt.Sprintf("Temporal could not describe the run (%v); this is what the Redis mirror holds", err)
		return v
	}
	c, err := g.dial(ctx)
	if err != nil {
		if mirrored == nil || ctx.Err() != nil {
			return statusView{}, err
		}
		return mirrorOnly(err), nil
	}
	defer c.Close()
	d, err := c.Describe(ctx, id)
	if err != nil {
		if mirrored == nil || ctx.Err() != nil {
			return statusView{}, failed(err)
		}
		return mirrorOnly(err), nil
	}
	v := statusOf(d)
	if mirrored != nil {
		v.applyProgress(*mirrored)
	}
	if err := addLiveState(ctx, c, d, &v); err != nil {
		return statusView{}, failed(err)
	}
	return v, nil
}

// addLiveState adds to what Temporal knows of the run what explains it:
// the live state, why a run does not move (a stuck workflow task, a step
// waiting for a worker), how a run ended. Only an interruption is an
// error; anything else that cannot be learned is left out.
func addLiveState(ctx context.Context, c *client.Client, d *client.Description, v *statusView) error {
	if d.Stuck() {
		// A query would fail as the workflow task does.
		return addStuck(ctx, c, d, v)
	}
	if v.Source != sourceRedis {
		if err := addQueriedState(ctx, c, d, v); err != nil {
			return err
		}
	}
	if d.Running {
		return addWaiting(ctx, c, d, v)
	}
	return addEnd(ctx, c, d, v)
}

const fallback = "so the state is the one the run last recorded in its search attributes"

// stateOrigin says where a state that is not the state query's comes from.
func (v *statusView) stateOrigin() string {
	if v.Source == sourceRedis {
		return "so the state is the one the run last wrote to Redis"
	}
	return fallback
}

// addStuck says with which error the worker fails the run's workflow
// task, and what to do about it.
func addStuck(ctx context.Context, c *client.Client, d *client.Description, v *statusView) error {
	s := &stuckView{Attempts: d.WorkflowTask.Attempt - 1}
	f, err := c.LastTaskFailure(ctx, d.WorkflowID, d.RunID)
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case err != nil:
		s.Error = fmt.Sprintf("not known (%v)", err)
	case f == nil:
		s.Error = "not known: the run's newest events hold no workflow task failure"
	default:
		s.Error, s.Cause, s.Worker = f.Message, f.Cause, f.Identity
		at := f.At.UTC()
		s.Since = &at
	}
	v.Stuck = s
	v.Note = fmt.Sprintf("the worker fails this run's workflow task, so the run makes no progress and reads no signal (cancel included); "+
		"fix the worker and the run goes on, or end it with starter cancel %s --terminate; %s", shellQuote(d.WorkflowID), v.stateOrigin())
	return nil
}

// addWaiting names the steps' task queues that no worker polls.
func addWaiting(ctx context.Context, c *client.Client, d *client.Description, v *statusView) error {
	for _, a := range d.Activities {
		if a.Started || a.TaskQueue == "" || slices.ContainsFunc(v.Waiting, func(w waitView) bool { return w.TaskQueue == a.TaskQueue }) {
			continue
		}
		n, err := c.ActivityPollers(ctx, a.TaskQueue)
		if errors.Is(err, context.Canceled) {
			return err
		}
		if err != nil || n > 0 {
			continue
		}
		w := waitView{TaskQueue: a.TaskQueue, Attempt: a.Attempt, ScheduledAt: a.Scheduled.UTC()}
		if name, ok := strings.CutPrefix(a.TaskQueue, d.TaskQueue+"."); ok {
			w.Specialist = name
		}
		v.Waiting = append(v.Waiting, w)
	}
	return nil
}

// addEnd says how a closed run ended, and with what error.
func addEnd(ctx context.Context, c *client.Client, d *client.Description, v *statusView) error {
	o, err := c.Wait(ctx, d.WorkflowID, d.RunID)
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case err != nil:
		return nil
	}
	v.Ended, v.Error = o.State, o.Error
	if o.State == client.EndTerminated {
		// The outcome says only "terminated"; the reason is in history.
		if reason, err := c.TerminationReason(ctx, d.WorkflowID, d.RunID); err == nil && reason != "" {
			v.Error = "terminated: " + reason
		}
	}
	return nil
}

// addQueriedState replaces the search attributes' state with the state
// query's answer when a worker can give one, and otherwise notes why the
// state is the one the run last recorded.
func addQueriedState(ctx context.Context, c *client.Client, d *client.Description, v *statusView) error {
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

func (v *statusView) applyState(s contract.StateView) {
	v.State = s.State.String()
	v.Resumes = ""
	if s.State == statemachine.Paused {
		v.Resumes = s.Resumes.String()
	}
	v.CurrentSteps = s.CurrentSteps
	v.Source = sourceQuery
}

// applyProgress takes the state, steps, progress and definition from the
// Redis mirror's progress.
func (v *statusView) applyProgress(p contract.Progress) {
	v.State = p.Status
	v.Resumes = ""
	v.CurrentSteps = p.CurrentSteps
	pct := int64(p.ProgressPercentage)
	v.Progress = &pct
	if p.Definition != "" {
		v.Definition = p.Definition
	}
	if v.RunID == "" {
		v.RunID = p.RunID
	}
	v.Source = sourceRedis
}
