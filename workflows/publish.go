package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ProgressEvery bounds how often a change of progress alone reaches the
// WorkflowProgress search attribute. Every change of state is written at
// once, with the progress of that moment; between changes of state,
// progress is written at most once per ProgressEvery of workflow time, and
// never later than that. Each upsert is a command, a history event and a
// write to the visibility store, so a run of many quick steps would
// otherwise spend most of its cost there. The progress query and the
// Redis projection are exact at every step.
const ProgressEvery = 2 * time.Second

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

// publisherLoop writes the search attributes for the life of the run.
func (r *run) publisherLoop(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return r.pub.dirty }); err != nil {
			return // cancelled: the end is flushed by finishCancelled
		}
		if r.flush(ctx, false) {
			continue
		}
		// Only progress changed, and too soon after the last upsert: wait
		// for the window to pass or for a change of state.
		wait := r.pub.last.Add(ProgressEvery).Sub(workflow.Now(ctx))
		state := r.pub.state
		if _, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "publish progress"}},
			func() bool { return r.m.State().String() != state }); err != nil {
			return
		}
		r.flush(ctx, true)
	}
}

// flush upserts what changed. Unless force is set, a change of progress
// alone within ProgressEvery of the last upsert is left pending, and flush
// reports false.
func (r *run) flush(ctx workflow.Context, force bool) bool {
	if r.in.NoSearchAttributes {
		r.pub.dirty = false
		return true
	}
	st, p := r.m.State().String(), int64(r.m.Progress())
	now := workflow.Now(ctx)
	stateChanged := st != r.pub.state
	if !force && !stateChanged && r.pub.definition && p != r.pub.progress && now.Before(r.pub.last.Add(ProgressEvery)) {
		return false
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
	r.pub.dirty = false
	if len(updates) == 0 {
		return true
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		r.logger.Warn("cannot upsert search attributes", "err", err)
		return true
	}
	r.pub.state, r.pub.progress, r.pub.definition, r.pub.last = st, p, true, now
	return true
}
