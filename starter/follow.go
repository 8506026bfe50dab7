package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/starter/client"
)

// watcher is what following a run needs from Temporal: a *client.Client,
// or a fake in tests.
type watcher interface {
	Progress(ctx context.Context, workflowID string) (contract.Progress, error)
	Pollers(ctx context.Context, taskQueue string) (int, error)
	Describe(ctx context.Context, workflowID string) (*client.Description, error)
	LastTaskFailure(ctx context.Context, workflowID, runID string) (*client.TaskFailure, error)
}

// display shows a followed run to people.
type display interface {
	// show is called with each progress that differs from the last.
	show(p contract.Progress)
	// say prints a message about the following itself.
	say(msg string)
	// stop ends the display before the outcome is printed.
	stop()
}

// timing paces the following.
type timing struct {
	// every is how often the progress query runs.
	every time.Duration
	// query bounds one progress query.
	query time.Duration
	// pollers is how often to look for a worker while there is none.
	pollers time.Duration
}

var defaultTiming = timing{every: 250 * time.Millisecond, query: 2 * time.Second, pollers: 2 * time.Second}

// waited is what waiting for a run's result gave.
type waited struct {
	outcome client.Outcome
	err     error
}

// followed is what following a run saw.
type followed struct {
	waited
	// last is the last progress seen; seen says whether there was one.
	last contract.Progress
	seen bool
}

// follow polls the progress query of workflowID and shows each change
// until done delivers the run's result (waited for elsewhere, so the
// result is known the moment it exists, not at the next poll). While no
// worker polls the task queue it says so once and only looks for one,
// since a query would just wait.
func follow(ctx context.Context, w watcher, workflowID, taskQueue string, done <-chan waited, d display, t timing) followed {
	f := &follower{w: w, id: workflowID, queue: taskQueue, d: d, t: t}
	tick := time.NewTicker(t.every)
	defer tick.Stop()
	defer d.stop()
	f.poll(ctx)
	for {
		select {
		case r := <-done:
			return followed{waited: r, last: f.last, seen: f.seen}
		case <-ctx.Done():
			return followed{waited: waited{err: ctx.Err()}, last: f.last, seen: f.seen}
		case <-tick.C:
			f.poll(ctx)
		}
	}
}

type follower struct {
	w     watcher
	id    string
	queue string
	d     display
	t     timing

	worker    bool // a worker polls the task queue
	checked   time.Time
	waiting   bool // "no worker" (or "stuck") has been said
	stuckSaid bool // what was said is "stuck"
	// stuckChecked is when the run was last described to tell a stuck
	// run from a missing worker.
	stuckChecked time.Time
	last         contract.Progress
	seen         bool
	lastShown    string
}

func (f *follower) poll(ctx context.Context) {
	if !f.worker {
		if !f.checked.IsZero() && time.Since(f.checked) < f.t.pollers {
			return
		}
		f.checked = time.Now()
		n, err := f.w.Pollers(ctx, f.queue)
		if err != nil || n == 0 {
			f.wait(ctx, fmt.Sprintf("still no worker is polling task queue %s: waiting for one (start it with make run)", f.queue))
			return
		}
		f.worker = true
	}
	qctx, cancel := context.WithTimeout(ctx, f.t.query)
	p, err := f.w.Progress(qctx, f.id)
	cancel()
	if err != nil {
		// A worker that fails the run's workflow task fails its queries
		// too, or lets them time out: that is not a missing worker.
		if msg, ok := f.stuck(ctx); ok {
			if ctx.Err() == nil {
				f.d.say(msg)
				f.waiting, f.stuckSaid = true, true
			}
			return
		}
		// The result, not a query, decides when following ends; a query
		// that gets no answer means the worker may have gone (Temporal
		// lists a stopped worker's poller for a few minutes).
		if errors.Is(err, client.ErrNoAnswer) {
			f.worker = false
			f.wait(ctx, fmt.Sprintf("no worker answers the progress query (is one polling task queue %s? start one with make run): waiting", f.queue))
		}
		return
	}
	switch {
	case f.stuckSaid:
		f.d.say("the run's workflow task runs again")
	case f.waiting:
		f.d.say(fmt.Sprintf("a worker is polling task queue %s now", f.queue))
	}
	f.waiting, f.stuckSaid = false, false
	if key := changeKey(p); !f.seen || key != f.lastShown {
		f.d.show(p)
		f.lastShown = key
	}
	f.last, f.seen = p, true
}

// stuck reports, with what to say, whether the worker fails the run's
// workflow task. Once said it is not asked again, and it is asked at most
// once per pollers interval, as often as a worker is looked for.
func (f *follower) stuck(ctx context.Context) (string, bool) {
	if f.stuckSaid || !f.stuckChecked.IsZero() && time.Since(f.stuckChecked) < f.t.pollers {
		return "", false
	}
	f.stuckChecked = time.Now()
	d, err := f.w.Describe(ctx, f.id)
	if err != nil || !d.Stuck() {
		return "", false
	}
	why := "its worker fails its workflow task"
	if tf, err := f.w.LastTaskFailure(ctx, f.id, d.RunID); err == nil && tf != nil {
		why += ": " + oneLine(tf.Message)
	}
	return fmt.Sprintf("the run is stuck, %s; it makes no progress until the worker is fixed (starter cancel %s --terminate ends it): waiting",
		why, shellQuote(f.id)), true
}

// wait says once that following is waiting for a worker.
func (f *follower) wait(ctx context.Context, msg string) {
	if !f.waiting && ctx.Err() == nil {
		f.d.say(msg)
		f.waiting = true
	}
}

// changeKey is what must differ for a progress to be shown again: the
// status, the steps and the numbers, not the timestamp.
func changeKey(p contract.Progress) string {
	return fmt.Sprintf("%s|%d|%d|%d|%t|%s|%s", p.Status, p.ProgressPercentage, p.CompletedSteps, p.TotalSteps,
		p.Paused, strings.Join(p.CurrentSteps, ","), p.Error)
}

// lineDisplay prints one line per change, for logs and pipes.
type lineDisplay struct{ w io.Writer }

func (l lineDisplay) show(p contract.Progress) { fmt.Fprintln(l.w, progressLine(p)) }
func (l lineDisplay) say(msg string)           { fmt.Fprintln(l.w, "starter: "+msg) }
func (l lineDisplay) stop()                    {}

// quietDisplay shows no progress (--json on a pipe), only messages.
type quietDisplay struct{ w io.Writer }

func (q quietDisplay) show(contract.Progress) {}
func (q quietDisplay) say(msg string)         { fmt.Fprintln(q.w, "starter: "+msg) }
func (q quietDisplay) stop()                  {}

// barDisplay draws a progress bar, for a terminal.
type barDisplay struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func newBarDisplay(w io.Writer) *barDisplay {
	bar := progressbar.NewOptions(100,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetDescription("starting"),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionClearOnFinish(),
	)
	return &barDisplay{w: w, bar: bar}
}

func (b *barDisplay) show(p contract.Progress) {
	b.bar.Describe(barDescription(p))
	_ = b.bar.Set(p.ProgressPercentage)
}

func (b *barDisplay) say(msg string) {
	_ = b.bar.Clear()
	fmt.Fprintln(b.w, "starter: "+msg)
	_ = b.bar.RenderBlank()
}

func (b *barDisplay) stop() {
	_ = b.bar.Exit()
	_ = b.bar.Clear()
}

// barDescription is the text beside the bar: "PROCESSING 3/10 process".
func barDescription(p contract.Progress) string {
	s := fmt.Sprintf("%s %d/%d", p.Status, p.CompletedSteps, p.TotalSteps)
	if len(p.CurrentSteps) > 0 {
		s += " " + strings.Join(p.CurrentSteps, ", ")
	}
	return s
}

// isTerminal reports whether w is a terminal (a character device), so the
// bar is drawn only where someone watches it redraw.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// newDisplay picks the bar on a terminal, lines elsewhere, and no
// progress at all when the output is JSON for a machine.
func (g *globals) newDisplay() display {
	switch {
	case isTerminal(g.stderr):
		return newBarDisplay(g.stderr)
	case g.json:
		return quietDisplay{w: g.stderr}
	}
	return lineDisplay{w: g.stderr}
}

// followRun follows a run until it ends and sums up how it ended. runID
// "" follows the latest run of workflowID. A run already closed has
// nothing to follow: its outcome is printed at once. With a mirror it
// follows the run's Redis channel (followMirror), and falls back to the
// progress query when Redis does not have the run or does not answer.
func (g *globals) followRun(ctx context.Context, c *client.Client, m *mirror, workflowID, runID, taskQueue string, running bool) (outcomeView, error) {
	began := time.Now()
	var f followed
	switch {
	case !running:
		o, err := c.Wait(ctx, workflowID, runID)
		f.waited = waited{outcome: o, err: err}
	case m != nil:
		var err error
		f, err = g.followThroughMirror(ctx, c, m, workflowID, runID)
		switch {
		case err != nil:
			g.fallBack(m, workflowID, err)
			m = nil
			f = g.followThroughTemporal(ctx, c, workflowID, runID, taskQueue)
		case !f.seen && f.err == nil:
			// It ended before Redis had it.
			g.fallBack(m, workflowID, projection.ErrNotFound)
			m = nil
		}
	default:
		f = g.followThroughTemporal(ctx, c, workflowID, runID, taskQueue)
	}
	if f.err != nil {
		if errors.Is(f.err, context.Canceled) {
			return outcomeView{}, &exitError{code: exitFailed,
				err: fmt.Errorf("stopped following %s; the run goes on (starter watch %s follows it again)", workflowID, workflowID)}
		}
		return outcomeView{}, failed(f.err)
	}
	// The last progress seen may predate the last step; ask once more,
	// briefly (a closed run's query needs a worker to replay it).
	qctx, qcancel := context.WithTimeout(ctx, 3*time.Second)
	defer qcancel()
	var fromMirror bool
	if m != nil {
		p, err := m.reader.Progress(qctx, workflowID)
		if fromMirror = err == nil; fromMirror && (!f.seen || p.Seq >= f.last.Seq) {
			f.last, f.seen = p, true
		}
	}
	if !fromMirror {
		if p, err := c.Progress(qctx, workflowID); err == nil {
			f.last, f.seen = p, true
		}
	}
	return outcomeOf(f, time.Since(began)), nil
}

// followThroughTemporal polls the progress query while waiting for the
// run's result.
func (g *globals) followThroughTemporal(ctx context.Context, c *client.Client, workflowID, runID, taskQueue string) followed {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan waited, 1)
	go func() {
		o, err := c.Wait(wctx, workflowID, runID)
		done <- waited{outcome: o, err: err}
	}()
	return follow(ctx, c, workflowID, taskQueue, done, g.newDisplay(), defaultTiming)
}

// followThroughMirror follows the run's Redis channel until the mirror
// says it is terminal, then asks Temporal once for the outcome. Meanwhile
// Temporal is only long-polled for the result, for a run that ends
// without the mirror knowing (terminated, timed out). An error means the
// mirror cannot be followed: Redis does not have the run or does not
// answer.
func (g *globals) followThroughMirror(ctx context.Context, c *client.Client, m *mirror, workflowID, runID string) (followed, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan waited, 1)
	go func() {
		o, err := c.AwaitClose(wctx, workflowID, runID)
		done <- waited{outcome: o, err: err}
	}()
	d := g.newDisplay()
	f, err := followMirror(ctx, m.reader, workflowID, runID, done, d, defaultMirrorTiming)
	d.stop()
	if err != nil || f.err != nil || f.outcome.State != "" {
		return f, err
	}
	// The mirror says the run is terminal; the run closes right after its
	// last write.
	o, werr := c.Wait(ctx, workflowID, f.last.RunID)
	f.waited = waited{outcome: o, err: werr}
	return f, nil
}

// mirrorTiming paces following through Redis.
type mirrorTiming struct {
	// reread is how often the progress hash is read even without a
	// message (pub/sub drops what is published while it reconnects).
	reread time.Duration
	// missing is how long a run may be absent from Redis before
	// following gives up on the mirror (a run just started has not
	// written yet).
	missing time.Duration
}

var defaultMirrorTiming = mirrorTiming{reread: 2 * time.Second, missing: 5 * time.Second}

// mirrorReader is what following needs from Redis: a *projection.Reader.
type mirrorReader interface {
	Progress(ctx context.Context, id string) (contract.Progress, error)
	Subscribe(ctx context.Context, id string) (*projection.Subscription, error)
}

// followMirror subscribes to the run's channel, then reads its progress,
// and reads it again on each record, showing each change, until the
// progress is terminal or done delivers the run's result. runID, when
// set, is the run just started: a progress of another run under the same
// workflow ID (an earlier execution) is not it, until the run has
// written once.
func followMirror(ctx context.Context, r mirrorReader, workflowID, runID string, done <-chan waited, d display, t mirrorTiming) (followed, error) {
	var f followed
	sub, err := r.Subscribe(ctx, workflowID)
	if err != nil {
		if interrupted(ctx, err) {
			f.err = ctx.Err()
			return f, nil
		}
		return f, err
	}
	defer sub.Close()
	var (
		shown   string
		missing time.Time
		ours    = runID == ""
	)
	refresh := func() error {
		rctx, cancel := readCtx(ctx)
		p, err := r.Progress(rctx, workflowID)
		cancel()
		if err == nil && !ours && p.RunID != runID {
			err = fmt.Errorf("progress of %q: %w", workflowID, projection.ErrNotFound)
		}
		if errors.Is(err, projection.ErrNotFound) && !f.seen {
			if missing.IsZero() {
				missing = time.Now()
			}
			if time.Since(missing) < t.missing {
				return nil
			}
		}
		if err != nil {
			return err
		}
		ours = true
		if key := changeKey(p); !f.seen || key != shown {
			d.show(p)
			shown = key
		}
		f.last, f.seen = p, true
		return nil
	}
	tick := time.NewTicker(t.reread)
	defer tick.Stop()
	for {
		if err := refresh(); err != nil {
			if interrupted(ctx, err) {
				f.err = ctx.Err()
				return f, nil
			}
			return f, err
		}
		if f.seen && client.Terminal(f.last.Status) {
			return f, nil
		}
		select {
		case _, ok := <-sub.C:
			if !ok && ctx.Err() == nil {
				return f, errors.New("the subscription to the run's channel ended")
			}
		case <-tick.C:
		case w := <-done:
			f.waited = w
			_ = refresh()
			return f, nil
		case <-ctx.Done():
			f.err = ctx.Err()
			return f, nil
		}
	}
}

// outcomeOf sums up a followed run; measured is the time spent following,
// used when Temporal's own start and close times are missing.
func outcomeOf(f followed, measured time.Duration) outcomeView {
	o := f.outcome
	v := outcomeView{
		WorkflowID: o.WorkflowID,
		RunID:      o.RunID,
		State:      o.State,
		DurationMS: measured.Milliseconds(),
		Error:      o.Error,
	}
	if f.seen {
		n := f.last.CompletedSteps
		v.CompletedSteps, v.TotalSteps = &n, f.last.TotalSteps
	}
	if !o.Start.IsZero() && !o.Close.IsZero() {
		v.DurationMS = o.Close.Sub(o.Start).Milliseconds()
	}
	return v
}

// finish prints the outcome and turns it into the exit code: 0 for
// COMPLETE, 1 for anything else.
func (g *globals) finish(v outcomeView) error {
	if !g.json {
		if err := renderOutcome(g.stdout, v); err != nil {
			return err
		}
	}
	if v.State != client.EndComplete {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s ended %s", v.WorkflowID, v.State), silent: true}
	}
	return nil
}

func newWatch(g *globals) *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a run with a progress bar until it ends",
		Long: "watch follows the latest run of workflow ID: a progress bar on a terminal (one line per change\n" +
			"otherwise), then the outcome. Exit code 0 when the run ends COMPLETE, 1 otherwise.\n\n" +
			"With REDIS_URL set it follows the run's Redis channel (wf:{ID}:events): each record the run\n" +
			"writes updates the display at once, and Temporal is asked only for the outcome. A run that\n" +
			"Redis does not have, or a Redis that does not answer, is followed through the progress query\n" +
			"instead (note on stderr). --source temporal always polls the progress query.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			m, err := g.openMirror(source)
			if err != nil {
				return err
			}
			if m != nil {
				defer m.close()
			}
			c, err := g.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			d, err := c.Describe(ctx, args[0])
			if err != nil {
				return failed(err)
			}
			// The run ID keeps a mirror of an earlier execution under the
			// same workflow ID from passing for this one.
			v, err := g.followRun(ctx, c, m, d.WorkflowID, d.RunID, d.TaskQueue, d.Running)
			if err != nil {
				return err
			}
			if g.json {
				if err := g.printJSON(v); err != nil {
					return err
				}
			}
			return g.finish(v)
		},
	}
	addSourceFlag(cmd, &source)
	return cmd
}
