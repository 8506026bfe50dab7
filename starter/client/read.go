package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"

	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
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
}

// Describe returns what Temporal knows about the latest run of workflowID.
func (c *Client) Describe(ctx context.Context, workflowID string) (*Description, error) {
	d, err := c.sdk.DescribeWorkflow(ctx, workflowID, "")
	if err != nil {
		return nil, c.explain(err, workflowID)
	}
	out := &Description{
		WorkflowID: d.WorkflowExecution.ID,
		RunID:      d.WorkflowExecution.RunID,
		TaskQueue:  d.TaskQueueName,
		Status:     d.Status.String(),
		Running:    d.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		Start:      d.WorkflowStartTime,
	}
	if d.WorkflowCloseTime != nil {
		out.Close = *d.WorkflowCloseTime
	}
	sa := d.TypedSearchAttributes
	out.State, _ = sa.GetKeyword(workflows.StateAttribute)
	out.Progress, out.HasProgress = sa.GetInt64(workflows.ProgressAttribute)
	out.Definition, _ = sa.GetKeyword(workflows.DefinitionAttribute)
	// The summary only decorates the output; a run without one is fine.
	out.Summary, _ = d.GetStaticSummary()
	return out, nil
}

// Pollers returns how many workers polled the task queue's workflow tasks
// in the last few minutes (Temporal's own window, so a worker stopped a
// minute ago still counts).
func (c *Client) Pollers(ctx context.Context, taskQueue string) (int, error) {
	resp, err := c.sdk.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		var ns *serviceerror.NamespaceNotFound
		if Code(err) == codes.NotFound && !errors.As(err, &ns) {
			// A task queue nobody has used yet.
			return 0, nil
		}
		return 0, c.explain(err, "")
	}
	return len(resp.GetPollers()), nil
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
func (c *Client) Progress(ctx context.Context, workflowID string) (workflows.Progress, error) {
	var p workflows.Progress
	err := c.queryInto(ctx, workflowID, workflows.QueryProgress, &p)
	return p, err
}

// State runs the state query.
func (c *Client) State(ctx context.Context, workflowID string) (workflows.StateView, error) {
	var s workflows.StateView
	err := c.queryInto(ctx, workflowID, workflows.QueryState, &s)
	return s, err
}

// History runs the history query.
func (c *Client) History(ctx context.Context, workflowID string) ([]statemachine.Record, error) {
	var h []statemachine.Record
	err := c.queryInto(ctx, workflowID, workflows.QueryHistory, &h)
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
