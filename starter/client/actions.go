package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/activities/builtin"
	"github.com/statedriven/statedriven/definition"
)

// ActionsTimeout bounds how long OfferedActions waits for a worker.
const ActionsTimeout = 5 * time.Second

// OfferedActions asks a worker of taskQueue which actions it offers, by
// running the tiny activities.ActionsWorkflowType workflow there (one
// run per question, ID "statedriven-actions/<queue>", shared by
// concurrent askers). Without a worker that registers it (none polls the
// queue, or the workers are older than it) the answer is an *Error of
// kind ErrNoAnswer after ActionsTimeout.
func (c *Client) OfferedActions(ctx context.Context, taskQueue string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, ActionsTimeout)
	defer cancel()
	run, err := c.sdk.ExecuteWorkflow(ctx, sdkclient.StartWorkflowOptions{
		ID:                       "statedriven-actions/" + taskQueue,
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// A queue whose workers do not know the workflow never runs it:
		// the run must not linger for the next asker.
		WorkflowExecutionTimeout: 30 * time.Second,
		StaticSummary:            "which actions the workers of " + taskQueue + " offer (asked by starter)",
	}, activities.ActionsWorkflowType)
	if err != nil {
		return nil, c.explain(err, "")
	}
	var names []string
	if err := run.Get(ctx, &names); err != nil {
		// The server may answer the long poll with DeadlineExceeded a
		// moment before the context itself is done.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || Code(err) == codes.DeadlineExceeded {
			return nil, &Error{Kind: ErrNoAnswer, Err: err, Message: fmt.Sprintf(
				"no worker of %s said which actions it offers within %s: none polls it, or its workers are older than %s", taskQueue, ActionsTimeout, activities.ActionsWorkflowType)}
		}
		return nil, c.explain(err, "")
	}
	return names, nil
}

// MissingAction is an action a plan names that the workers asked do not
// offer, with the steps that name it.
type MissingAction struct {
	Action string
	Steps  []string
}

// MissingActions returns the actions of p's steps on the run's own task
// queue (no specialist) that are neither built in nor in offered, in plan
// order. Steps on a specialist's queue are left out: a specialist, in any
// language, is not asked.
func MissingActions(p *definition.Plan, offered []string) []MissingAction {
	var out []MissingAction
	walkActionNames(p, "", func(specialist, action, step string) {
		if specialist != "" || builtin.Is(action) || slices.Contains(offered, action) {
			return
		}
		i := slices.IndexFunc(out, func(m MissingAction) bool { return m.Action == action })
		if i < 0 {
			out = append(out, MissingAction{Action: action})
			i = len(out) - 1
		}
		if !slices.Contains(out[i].Steps, step) {
			out[i].Steps = append(out[i].Steps, step)
		}
	})
	return out
}
