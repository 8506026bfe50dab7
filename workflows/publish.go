package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// DefaultProgressEvery is how old the last upsert must be before a change
// of progress alone reaches the WorkflowProgress search attribute
// (Input.ProgressEvery; NewInput and the starter set it). Every change of
// state is written at once, with the progress of that moment. A change
// of progress alone is written by the first transition at least this
// long after the last upsert (workflow time); so the attribute never
// shows progress the run has not made, and lags the truth at most by
// the steps that completed in the interval before the step now running.
// The current details line, the progress query and the Redis projection
// are exact at every step.
//
// Each upsert is a command, a history event and, while the run is open,
// a write to the visibility store. A burst of runs stretches each run out:
// in a burst of 200 five-step runs each lasts 4-7 s, and with 2 s each
// wrote its progress one to three times, which cost it about a tenth of
// its throughput (BENCHMARKS.md). With 10 s a run of quick steps writes
// only its changes of state, and a run of steps that take longer than
// 10 s still writes its progress at every step.
const DefaultProgressEvery = 10 * time.Second

// legacyProgressEvery is the interval of runs whose input names none:
// those started before Input.ProgressEvery existed.
const legacyProgressEvery = 2 * time.Second

// progressEvery is the run's interval for a change of progress alone
// (never negative: the input's decoding refuses that).
func (r *run) progressEvery() time.Duration {
	if !r.in.ProgressEvery.Set {
		return legacyProgressEvery
	}
	return r.in.ProgressEvery.D
}

// publisher remembers what the outside was last shown, so that only
// changed values are written, and at most once per workflow task.
type publisher struct {
	details    string
	state      string
	progress   int64
	definition bool
	last       time.Time // workflow time of the last upsert
	dirty      bool      // something changed since the last upsert
}

// publish shows the machine to the outside: the current details line at
// once, and the search attributes through the publisher coroutine, which
// runs when the workflow blocks, so all the transitions of one workflow
// task become one upsert.
func (r *run) publish(ctx workflow.Context) {
	if d := r.details(); d != r.pub.details {
		workflow.SetCurrentDetails(ctx, d)
		r.pub.details = d
	}
	r.pub.dirty = true
}

// publisherLoop writes the search attributes for the life of the run,
// each time the workflow blocks after a transition.
func (r *run) publisherLoop(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return r.pub.dirty }); err != nil {
			return // cancelled: the end is flushed by finishCancelled
		}
		r.flush(ctx, false)
	}
}

// flush upserts what changed. Unless force is set, a change of progress
// alone within progressEvery of the last upsert is left for a later flush.
func (r *run) flush(ctx workflow.Context, force bool) {
	r.pub.dirty = false
	if r.in.NoSearchAttributes {
		return
	}
	st, p := r.m.State().String(), int64(r.m.Progress())
	now := workflow.Now(ctx)
	stateChanged := st != r.pub.state
	if !force && !stateChanged && r.pub.definition && now.Before(r.pub.last.Add(r.progressEvery())) {
		return
	}
	var updates []temporal.SearchAttributeUpdate
	if stateChanged {
		updates = append(updates, StateAttribute.ValueSet(st))
	}
	if p != r.pub.progress {
		updates = append(updates, ProgressAttribute.ValueSet(p))
	}
	if !r.pub.definition {
		updates = append(updates, DefinitionAttribute.ValueSet(r.plan.Name))
	}
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		r.logger.Warn("cannot upsert search attributes", "err", err)
		return
	}
	r.pub.state, r.pub.progress, r.pub.definition, r.pub.last = st, p, true, now
}
