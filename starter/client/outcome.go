package client

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/statedriven/statedriven/workflows"
)

// How a run can end. COMPLETE, FAILED and CANCELLED are the state
// machine's terminal states; TERMINATED and TIMED_OUT are Temporal's, for
// runs stopped from outside the workflow.
const (
	EndComplete   = "COMPLETE"
	EndFailed     = "FAILED"
	EndCancelled  = "CANCELLED"
	EndTerminated = "TERMINATED"
	EndTimedOut   = "TIMED_OUT"
)

// Outcome is how a run ended.
type Outcome struct {
	WorkflowID string
	// RunID is the run that ended (after continue-as-new, the last one).
	RunID string
	// State is one of the End* values.
	State string
	// Error says why a run did not complete ("" when it did).
	Error string
	// Result is what the workflow returned, when it returned normally.
	Result *workflows.Result
	// Start and Close are Temporal's times for the run; zero when they
	// could not be read.
	Start, Close time.Time
}

// Complete reports whether the run ended in COMPLETE.
func (o Outcome) Complete() bool { return o.State == EndComplete }

// Wait blocks until the run of workflowID ends (following continue-as-new)
// and returns how it ended. runID "" means the latest run. An error means
// the outcome could not be learned, not that the run failed.
func (c *Client) Wait(ctx context.Context, workflowID, runID string) (Outcome, error) {
	return c.wait(ctx, workflowID, runID, true)
}

// AwaitClose is Wait without asking every second whether the run has
// ended: only Temporal's long poll for the result, which may answer up to
// 20 s after the end (see awaitResult). It is for a caller that learns of
// the end from elsewhere (the Redis mirror) and then calls Wait, and
// that must not load Temporal meanwhile.
func (c *Client) AwaitClose(ctx context.Context, workflowID, runID string) (Outcome, error) {
	return c.wait(ctx, workflowID, runID, false)
}

func (c *Client) wait(ctx context.Context, workflowID, runID string, check bool) (Outcome, error) {
	get := func(ctx context.Context) (workflows.Result, error) {
		var res workflows.Result
		err := c.sdk.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res)
		return res, err
	}
	ended := func(ctx context.Context) bool {
		d, err := c.Describe(ctx, workflowID)
		return err == nil && !d.Running
	}
	every := endedCheckEvery
	if !check {
		ended = func(context.Context) bool { return false }
		every = time.Hour
	}
	res, err := awaitResult(ctx, get, ended, every)
	o, err := OutcomeOf(res, err)
	if err != nil {
		return Outcome{}, c.explain(err, workflowID)
	}
	o.WorkflowID = workflowID
	// Times and the final run ID are a courtesy: the outcome stands
	// without them.
	if d, derr := c.Describe(ctx, workflowID); derr == nil {
		o.RunID, o.Start, o.Close = d.RunID, d.Start, d.Close
		o.Start = c.chainStart(ctx, workflowID, d)
	} else {
		o.RunID = runID
	}
	return o, nil
}

// endedCheckEvery is how often Wait asks whether the run has ended while
// it waits for the result.
const endedCheckEvery = time.Second

// awaitResult returns what get returns. get is the SDK's wait for a run's
// result, a long poll for its close event that the server now and then
// answers only when the poll expires, 20 s after the run ended (seen
// about once in 20–40 quick runs in the in-process benchmark). So while
// get waits, ended is asked every period; once it says the run has
// ended, get is asked again, and answers at once.
func awaitResult(ctx context.Context, get func(context.Context) (workflows.Result, error), ended func(context.Context) bool, every time.Duration) (workflows.Result, error) {
	for {
		res, missed, err := pollResult(ctx, get, ended, every)
		switch {
		case !missed:
			return res, err
		case ctx.Err() != nil:
			return res, ctx.Err()
		case err == nil:
			return res, nil
		}
	}
}

// pollResult runs get until it answers, or until ended says the run has
// ended: then it cancels get, waits for it to return, and reports the
// end as missed.
func pollResult(ctx context.Context, get func(context.Context) (workflows.Result, error), ended func(context.Context) bool, every time.Duration) (res workflows.Result, missed bool, err error) {
	type got struct {
		res workflows.Result
		err error
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan got, 1)
	go func() {
		res, err := get(pctx)
		ch <- got{res, err}
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case g := <-ch:
			return g.res, false, g.err
		case <-tick.C:
			if ended(ctx) {
				cancel()
				g := <-ch // the poll ends on its cancelled context
				return g.res, true, g.err
			}
		}
	}
}

// OutcomeOf reads how a run ended from what GetWorkflow(…).Get returned:
// the workflow's Result, or a workflow execution error whose cause tells
// failed from cancelled, terminated and timed out. Any other error (the
// server could not be asked) comes back as the error.
func OutcomeOf(res workflows.Result, err error) (Outcome, error) {
	if err == nil {
		o := Outcome{State: res.State.String(), Error: res.Error, Result: &res}
		if !res.State.Terminal() {
			// Temporal says the run completed; a workflow that returns
			// without a terminal state still completed.
			o.State = EndComplete
		}
		return o, nil
	}
	var wee *temporal.WorkflowExecutionError
	if !errors.As(err, &wee) {
		return Outcome{}, err
	}
	cause := errors.Unwrap(wee)
	if cause == nil {
		return Outcome{State: EndFailed, Error: wee.Error()}, nil
	}
	return Outcome{State: endOf(cause), Error: cause.Error()}, nil
}

// endOf classifies the direct cause of a workflow execution error. Only
// the direct cause counts: a workflow that failed because an activity
// timed out has failed, it has not timed out.
func endOf(cause error) string {
	switch cause.(type) {
	case *temporal.CanceledError:
		return EndCancelled
	case *temporal.TerminatedError:
		return EndTerminated
	case *temporal.TimeoutError:
		return EndTimedOut
	}
	return EndFailed
}

// chainStart is when the first run of d's continue-as-new chain started:
// a run that continued as new began there, not at its latest run's start.
func (c *Client) chainStart(ctx context.Context, workflowID string, d *Description) time.Time {
	if d.FirstRunID == "" || d.FirstRunID == d.RunID {
		return d.Start
	}
	first, err := c.sdk.DescribeWorkflowExecution(ctx, workflowID, d.FirstRunID)
	if err != nil || first.GetWorkflowExecutionInfo().GetStartTime() == nil {
		return d.Start // past retention: the latest run's start is what is left
	}
	return first.GetWorkflowExecutionInfo().GetStartTime().AsTime()
}
