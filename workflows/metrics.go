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
//
// Each record would otherwise build a tag map and an attribute set; the
// counters are kept by from, to and event instead, a set bounded by the
// states and events, not by the records made.
func countRecords(m client.MetricsHandler) func(statemachine.Record) {
	type move struct {
		from, to statemachine.State
		event    statemachine.Event
	}
	counters := map[move]client.MetricsCounter{}
	return func(rec statemachine.Record) {
		k := move{rec.From, rec.To, rec.Event}
		c, ok := counters[k]
		if !ok {
			c = m.WithTags(map[string]string{
				"from":  rec.From.String(),
				"to":    rec.To.String(),
				"event": string(rec.Event),
			}).Counter(contract.MetricTransitions)
			counters[k] = c
		}
		c.Inc(1)
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
