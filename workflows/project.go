package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/statedriven/statedriven/contract"
)

// The projector mirrors the run's machine into Redis (package projection,
// ../shared/DESIGN.md "Redis keys"): every record the machine makes, and
// the progress of that moment, reach Redis in order, batched, and without
// holding the steps back for long.
//
// The mechanism is a local activity, contract.ProjectActivityName, that a
// coroutine of the run schedules each time the workflow blocks after one
// or more transitions. Measured on the in-process server (BENCHMARKS.md,
// "Redis projection"), per workflow task that made transitions it adds
// one history event (the local activity's marker) and no workflow task:
// the marker is written with the commands of the task that made the
// transitions, which waits for the write (lag p50 1.3 ms, p99 9.5 ms with
// 200 runs at once). An activity instead would add three events
// (scheduled, started, completed) and a workflow task (three more) per
// batch, and a Temporal round trip of lag; a side effect or a write from
// workflow code is not allowed (no I/O in workflow code). So all the
// transitions of one workflow task are one batch, and a five-step run has
// 6 more events (43 against 37); its throughput ratio to a hand-written
// workflow measured 0.897 and 0.908 with the projection on, 0.944 with a
// worker without Redis.
//
// The write happens before Temporal accepts the workflow task. When it
// refuses the task's completion (an event arrived meanwhile) the task runs
// again and may make its records anew; each batch is stamped with its
// workflow task, so the later attempt's records replace the refused one's
// (package projection).
//
// While Redis is slow or down, a write fails after projectTimeout and the
// coroutine waits (a timer, backoff up to projectMaxBackoff) before it
// tries again with everything that piled up: the steps go on at full speed
// and only the mirror falls behind. When the run ends or continues as
// new it flushes with retries for at most projectFinalWait; if Redis is
// still away then, the run ends anyway and `starter projection rebuild`
// repairs the mirror from Temporal.
//
// Every write is conditional on seq in Redis, so a replayed or retried
// batch, or a second writer, never duplicates or rewinds anything. The
// local activity answers the seq Redis holds afterwards, which is how the
// run learns that Redis lost its keys (flushed or expired): it then sends
// again from there, or, when it no longer keeps those records, restarts
// the mirror's list from the oldest record it keeps (Reset).
const (
	// ProjectionVersion is Input.Projection for runs that mirror into
	// Redis; NewInput sets it.
	ProjectionVersion = 1
	// projectionChange is the GetVersion change ID that decides for a run
	// whose input does not say (one started with a hand-written input):
	// runs recorded before the projector existed replay without it.
	projectionChange = "redis-projection"

	projectTimeout    = 2 * time.Second
	projectMinBackoff = time.Second
	projectMaxBackoff = 30 * time.Second
	projectFinalWait  = 30 * time.Second
	// projectBatch bounds the records of one write, so that a backlog
	// (a run without a history window whose mirror was flushed) is
	// written in pieces of at most about 1.5 MB.
	projectBatch = 10000
)

// projector is the run's view of its mirror.
type projector struct {
	on bool
	// written is the seq Redis holds, as the last write answered.
	written uint64
	// failures counts the writes that failed since the last one that
	// went in.
	failures int
	// busy is set while a write is under way, so that the loop and the
	// final flush never send the same records twice.
	busy bool
}

// projects decides whether the run mirrors into Redis: what its input
// says, else a version marker, so that histories recorded before the
// projector replay unchanged.
func projects(ctx workflow.Context, in Input) bool {
	if in.Projection > 0 {
		return in.Projection >= ProjectionVersion
	}
	return workflow.GetVersion(ctx, projectionChange, workflow.DefaultVersion, ProjectionVersion) >= ProjectionVersion
}

// projectLoop writes the new records for the life of the run, each time
// the workflow blocks after a transition.
func (r *run) projectLoop(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return r.projectionBehind() && !r.proj.busy }); err != nil {
			return // cancelled: the end is flushed by finishCancelled
		}
		if r.projectOnce(ctx, false) {
			continue
		}
		if err := workflow.Sleep(ctx, r.projectBackoff()); err != nil {
			return
		}
	}
}

func (r *run) projectionBehind() bool { return r.m.Seq() > r.proj.written }

// projectBackoff doubles from projectMinBackoff with each failed write.
func (r *run) projectBackoff() time.Duration {
	d := projectMinBackoff
	for i := 1; i < r.proj.failures && d < projectMaxBackoff; i++ {
		d *= 2
	}
	return min(d, projectMaxBackoff)
}

// projectFinal flushes what the mirror lacks before the run ends or
// continues as new, retrying for at most projectFinalWait.
func (r *run) projectFinal(ctx workflow.Context) {
	if !r.proj.on {
		return
	}
	// A write of the loop under way ends within projectTimeout.
	_ = workflow.Await(ctx, func() bool { return !r.proj.busy })
	for r.projectionBehind() {
		if !r.projectOnce(ctx, true) {
			return
		}
	}
}

// projectOnce writes one batch and reports whether it went in.
func (r *run) projectOnce(ctx workflow.Context, final bool) bool {
	b := r.projectionBatch(ctx)
	opts := workflow.LocalActivityOptions{
		StartToCloseTimeout: projectTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	if final {
		opts.ScheduleToCloseTimeout = projectFinalWait
		opts.RetryPolicy = &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Second,
		}
	}
	var res contract.ProjectionResult
	r.proj.busy = true
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, opts), contract.ProjectActivityName, b).Get(ctx, &res)
	r.proj.busy = false
	if err != nil {
		r.proj.failures++
		if r.proj.failures == 1 || final {
			r.logger.Warn("cannot write the Redis projection; the mirror falls behind until a write goes in", "seq", b.Progress.Seq, "written", r.proj.written, "err", err)
		}
		return false
	}
	if r.proj.failures > 0 {
		r.logger.Info("the Redis projection is written again", "seq", res.Seq, "failed_writes", r.proj.failures)
	}
	r.proj.failures = 0
	r.proj.written = res.Seq
	return true
}

// projectionBatch is the progress now and the records after the written
// seq, restarting from the oldest kept record when the ones right after
// it are no longer kept.
func (r *run) projectionBatch(ctx workflow.Context) contract.ProjectionBatch {
	info := workflow.GetInfo(ctx)
	b := contract.ProjectionBatch{
		Progress:   r.progress(ctx),
		Records:    r.m.HistoryPage(r.proj.written+1, projectBatch),
		Chain:      info.FirstRunID,
		Generation: r.runs,
		Task:       int64(info.GetCurrentHistoryLength()),
	}
	if len(b.Records) > 0 {
		b.Reset = b.Records[0].Seq > r.proj.written+1
		if last := b.Records[len(b.Records)-1]; last.Seq < b.Progress.Seq {
			// A backlog larger than one batch: this piece carries the seq
			// it ends at, so that the next piece follows it; the pieces
			// are written one after the other at once.
			b.Progress.Seq, b.Progress.UpdatedAt = last.Seq, last.At
		}
	}
	return b
}
