package projection

import (
	"context"
	"net/url"

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

// Register registers project (Writer.Project, or Discard) on w as the
// local activity through which runs mirror themselves,
// contract.ProjectActivityName. Every worker that runs
// StateDrivenWorkflow needs it.
func Register(w worker.ActivityRegistry, project func(context.Context, contract.ProjectionBatch) (contract.ProjectionResult, error)) {
	w.RegisterActivityWithOptions(project, activity.RegisterOptions{Name: contract.ProjectActivityName})
}

// Redacted is c's URL with its passwords replaced, for logs.
func (c Config) Redacted() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "(a REDIS_URL that does not parse)"
	}
	return redactedURL(u)
}
