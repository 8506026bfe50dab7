package workflows

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/statemachine"
)

// countRecords counts each record the machine makes in
// contract.MetricTransitions. The workflow's metrics handler records
// nothing while the SDK replays, so a record counts once, when it is
// first made, on the worker that made it.
func countRecords(m client.MetricsHandler) func(statemachine.Record) {
	return func(rec statemachine.Record) {
		m.WithTags(map[string]string{
			"from":  rec.From.String(),
			"to":    rec.To.String(),
			"event": string(rec.Event),
		}).Counter(contract.MetricTransitions).Inc(1)
	}
}

// countRefused counts an operation the run refused, by its name and how
// it came (signal or update), in contract.MetricRefused.
func countRefused(ctx workflow.Context, kind, via string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"kind": kind, "via": via}).
		Counter(contract.MetricRefused).Inc(1)
}

// refusing wraps an update's validator so that a refusal is counted.
func refusing[T any](ctx workflow.Context, kind string, validate func(T) error) func(T) error {
	return func(in T) error {
		err := validate(in)
		if err != nil {
			countRefused(ctx, kind, "update")
		}
		return err
	}
}
