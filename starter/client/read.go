package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/statemachine"
)

// QueryTimeout bounds a query when the caller's context has no earlier
// deadline: a query waits for a worker, and without one it would wait
// until the server gives up.
const QueryTimeout = 10 * time.Second

// Description is what Temporal itself knows about a run: no worker is
// needed to answer it.
type Description struct {
	WorkflowID string
	RunID      string
	// FirstRunID is the first run of the run's continue-as-new chain
	// (RunID when it never continued as new).
	FirstRunID string
	TaskQueue  string
	// Status is Temporal's execution status: Running, Completed, Failed,
	// Canceled, Terminated, ContinuedAsNew, TimedOut.
	Status string
	// Running is false once the run has closed.
	Running bool
	Start   time.Time
	// Close is zero while the run is open.
	Close time.Time
	// State, Progress and Definition are the search attributes the
	// workflow upserts on every transition; Has* say whether they are set.
	State       string
	Progress    int64
	HasProgress bool
	Definition  string
	// Summary is the static summary set at start (see Summary).
	Summary string
	// WorkflowTask is the run's pending workflow task, nil when none is
	// due.
	WorkflowTask *WorkflowTask
	// Activities are the run's pending activities: its steps at work or
	// waiting for a worker.
	Activities []PendingActivity
}

// WorkflowTask is a workflow task Temporal has scheduled and not yet seen
// completed.
type WorkflowTask struct {
	// Attempt counts from 1; above 1, earlier attempts failed or timed
	// out (see Stuck).
	Attempt int
	// Started says a worker has picked the task up.
	Started   bool
	Scheduled time.Time
}

// Stuck reports whether the run's workflow task has failed or timed out
// at least once and is being tried again: until a worker completes it,
// the run makes no progress and reads no signal.
func (d *Description) Stuck() bool {
	return d.Running && d.WorkflowTask != nil && d.WorkflowTask.Attempt > 1
}

// PendingActivity is an activity (a step, or an item of a map step) that
// has been scheduled and not finished.
type PendingActivity struct {
	ActivityID string
	// Type is the activity type (contract.RunStepName for every step).
	Type string
	// TaskQueue is where it waits for a worker.
	TaskQueue string
	// Started says a worker runs it now; false, it waits for one (or
	// for its next retry).
	Started   bool
	Attempt   int
	Scheduled time.Time
	// LastFailure is the message of its last failed attempt.
	LastFailure string
}

// Describe returns what Temporal knows about the latest run of workflowID.
func (c *Client) Describe(ctx context.Context, workflowID string) (*Description, error) {
	d, err := c.sdk.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, c.explain(err, workflowID)
	}
	info := d.GetWorkflowExecutionInfo()
	e := executionOf(info)
	out := &Description{
		WorkflowID:  e.WorkflowID,
		RunID:       e.RunID,
		FirstRunID:  info.GetFirstRunId(),
		TaskQueue:   info.GetTaskQueue(),
		Status:      e.Status,
		Running:     info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		Start:       e.Start,
		Close:       e.Close,
		State:       e.State,
		Progress:    e.Progress,
		HasProgress: e.HasProgress,
		Definition:  e.Definition,
	}
	// The summary only decorates the output; a run without one is fine.
	if p := d.GetExecutionConfig().GetUserMetadata().GetSummary(); p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &out.Summary)
	}
	if t := d.GetPendingWorkflowTask(); t != nil {
		out.WorkflowTask = &WorkflowTask{
			Attempt:   int(t.GetAttempt()),
			Started:   t.GetState() == enumspb.PENDING_WORKFLOW_TASK_STATE_STARTED,
			Scheduled: t.GetScheduledTime().AsTime(),
		}
	}
	for _, a := range d.GetPendingActivities() {
		out.Activities = append(out.Activities, PendingActivity{
			ActivityID:  a.GetActivityId(),
			Type:        a.GetActivityType().GetName(),
			TaskQueue:   a.GetActivityOptions().GetTaskQueue().GetName(),
			Started:     a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED,
			Attempt:     int(a.GetAttempt()),
			Scheduled:   a.GetScheduledTime().AsTime(),
			LastFailure: a.GetLastFailure().GetMessage(),
		})
	}
	return out, nil
}

// TaskFailure is why a workflow task of a run failed, as Temporal
// recorded it.
type TaskFailure struct {
	// Message is the worker's error (a panic's message, say) or, for a
	// task that timed out, what timed out.
	Message string
	// Cause is Temporal's classification (WorkflowWorkerUnhandledFailure,
	// BadUpsertWorkflowSearchAttributes, …); "" for a timeout.
	Cause string
	// Identity is the worker that reported the failure.
	Identity string
	At       time.Time
}

// LastTaskFailure returns the last workflow task failure or timeout in
// the history of the run (runID "" for the latest), newest first, or nil
// when its newest events hold none. Temporal records only the first
// failure of a series of attempts; those after it repeat it.
func (c *Client) LastTaskFailure(ctx context.Context, workflowID, runID string) (*TaskFailure, error) {
	resp, err := c.sdk.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace:       c.namespace,
		Execution:       &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
		MaximumPageSize: taskFailureLookBack,
	})
	if err != nil {
		return nil, c.explain(err, workflowID)
	}
	for _, ev := range resp.GetHistory().GetEvents() {
		if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
			f := &TaskFailure{Message: a.GetFailure().GetMessage(), Cause: taskFailedCause(a.GetCause()), Identity: a.GetIdentity(), At: ev.GetEventTime().AsTime()}
			if f.Message == "" {
				f.Message = f.Cause
			}
			return f, nil
		}
		if a := ev.GetWorkflowTaskTimedOutEventAttributes(); a != nil {
			return &TaskFailure{
				Message: fmt.Sprintf("the workflow task timed out (%s): a worker took it and did not answer in time", a.GetTimeoutType()),
				At:      ev.GetEventTime().AsTime(),
			}, nil
		}
	}
	return nil, nil
}

// taskFailureLookBack is how many of a run's newest events LastTaskFailure
// reads: after the failure come at most the signals and updates sent to
// the stuck run.
const taskFailureLookBack = 100

// taskFailedCause is the cause's name ("WorkflowWorkerUnhandledFailure"),
// "" when unspecified.
func taskFailedCause(c enumspb.WorkflowTaskFailedCause) string {
	if c == enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED {
		return ""
	}
	return c.String()
}

// Query runs one of the workflow's queries (workflows.Query*) on the
// latest run of workflowID and returns its answer as the workflow encoded
// it: JSON, "null" when the answer was empty.
func (c *Client) Query(ctx context.Context, workflowID, name string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	v, err := c.sdk.QueryWorkflow(ctx, workflowID, "", name)
	if err != nil {
		return nil, c.explainQuery(err, workflowID, name)
	}
	var raw json.RawMessage
	if v.HasValue() {
		if err := v.Get(&raw); err != nil {
			return nil, fmt.Errorf("decode the answer to the %s query of %s: %w", name, workflowID, err)
		}
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	return raw, nil
}

// explainQuery explains the failure of a query, which most often means
// that no worker answered it.
func (c *Client) explainQuery(err error, workflowID, name string) error {
	explained := c.explain(err, workflowID)
	if errors.Is(explained, ErrNoAnswer) || timedOut(err) {
		return &Error{
			Kind: ErrNoAnswer,
			Message: fmt.Sprintf("workflow %s did not answer the %s query: a query needs a worker polling the workflow's task queue, and none answered (start one with make run)",
				workflowID, name),
			Err: err,
		}
	}
	return explained
}

// Progress runs the progress query.
func (c *Client) Progress(ctx context.Context, workflowID string) (contract.Progress, error) {
	var p contract.Progress
	err := c.queryInto(ctx, workflowID, contract.QueryProgress, &p)
	return p, err
}

// State runs the state query.
func (c *Client) State(ctx context.Context, workflowID string) (contract.StateView, error) {
	var s contract.StateView
	err := c.queryInto(ctx, workflowID, contract.QueryState, &s)
	return s, err
}

// History runs the history query.
func (c *Client) History(ctx context.Context, workflowID string) ([]statemachine.Record, error) {
	var h []statemachine.Record
	err := c.queryInto(ctx, workflowID, contract.QueryHistory, &h)
	return h, err
}

func (c *Client) queryInto(ctx context.Context, workflowID, name string, into any) error {
	raw, err := c.Query(ctx, workflowID, name)
	if err != nil {
		return err
	}
	return Decode(raw, name, into)
}

// Decode unmarshals the answer to a query, naming the query when the
// answer is not what the contract says.
func Decode(raw json.RawMessage, query string, into any) error {
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("the answer to the %s query is not what package workflows describes: %w", query, err)
	}
	return nil
}

// TerminationReason is the reason given when the run (runID "" for the
// latest) was terminated, read from its close event; "" when it was not
// terminated or gave none. The SDK's TerminatedError does not carry it.
func (c *Client) TerminationReason(ctx context.Context, workflowID, runID string) (string, error) {
	resp, err := c.sdk.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace:       c.namespace,
		Execution:       &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
		MaximumPageSize: 1,
	})
	if err != nil {
		return "", c.explain(err, workflowID)
	}
	for _, ev := range resp.GetHistory().GetEvents() {
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			return a.GetReason(), nil
		}
	}
	return "", nil
}
