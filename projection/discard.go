package projection

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/contract"
)

// Discard is the projection of a worker without Redis: it writes nothing
// and answers every batch as written, so runs go on as they would with a
// mirror and keep the same history.
func Discard(_ context.Context, b contract.ProjectionBatch) (contract.ProjectionResult, error) {
	return contract.ProjectionResult{Seq: b.Progress.Seq}, nil
}

// ProjectFunc is the shape of the projection's local activity:
// Writer.Project, or Discard.
type ProjectFunc = func(context.Context, contract.ProjectionBatch) (contract.ProjectionResult, error)

// Register registers project on w as the local activity through which
// runs mirror themselves, contract.ProjectActivityName. Every worker that
// runs StateDrivenWorkflow needs it.
func Register(w worker.ActivityRegistry, project ProjectFunc) {
	w.RegisterActivityWithOptions(project, activity.RegisterOptions{Name: contract.ProjectActivityName})
}
