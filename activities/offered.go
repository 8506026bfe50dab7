package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ActionsWorkflowType is the workflow with which a worker tells what
// actions it offers: `starter run` and `starter actions` start it on a
// task queue, and whichever worker polls that queue answers with the
// names in its registry (built-ins included). A query needs a running
// workflow and a task queue's metadata holds no such list, so a run of a
// few events is the lightest question a client can put to the workers.
const ActionsWorkflowType = "StateDrivenActions"

// RegisterActions registers the actions workflow with w: do it on the
// worker of the runs' task queue, beside the interpreter workflow.
func (r *Runner) RegisterActions(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(r.offeredWorkflow, workflow.RegisterOptions{Name: ActionsWorkflowType})
}

// offeredWorkflow answers the registry's names. They are read in a local
// activity, so a replay on another worker returns what this one said.
func (r *Runner) offeredWorkflow(ctx workflow.Context) ([]string, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{ScheduleToCloseTimeout: 10 * time.Second})
	var names []string
	err := workflow.ExecuteLocalActivity(ctx, r.offered).Get(ctx, &names)
	return names, err
}

func (r *Runner) offered(context.Context) ([]string, error) { return r.reg.Names(), nil }
