package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/workflows"
)

// ErrNotRedrivable: the run cannot be redriven (it has not ended FAILED
// or CANCELLED).
var ErrNotRedrivable = errors.New("run cannot be retried")

// Ended is what a redrive needs of a closed run: how it ended, what it
// was given and what it left.
type Ended struct {
	WorkflowID string
	RunID      string
	TaskQueue  string
	// State is EndFailed or EndCancelled.
	State string
	// Input is the run's input (its WorkflowExecutionStarted event): the
	// plan it was started with and its data.
	Input workflows.Input
	// Result is the workflow's Result carried in the close event's
	// failure (FAILED) or cancellation (CANCELLED) details; nil when the
	// run left none (a worker older than redrive).
	Result *workflows.Result
}

// LastEnded reads the latest run of workflowID for a redrive: it must
// have ended FAILED or CANCELLED (else the error matches
// ErrNotRedrivable and says how it is), and its start and close events
// give its input and its Result.
func (c *Client) LastEnded(ctx context.Context, workflowID string) (*Ended, error) {
	d, err := c.Describe(ctx, workflowID)
	if err != nil {
		return nil, err
	}
	var state string
	switch d.Status {
	case "Failed":
		state = EndFailed
	case "Canceled":
		state = EndCancelled
	default:
		what := "is " + d.Status
		if d.Running {
			what = "is still running (in " + orUnknown(d.State) + ")"
		}
		return nil, &Error{Kind: ErrNotRedrivable, Message: fmt.Sprintf(
			"the latest run of %s %s: only a run that ended FAILED or CANCELLED can be retried", workflowID, what)}
	}
	e := &Ended{WorkflowID: d.WorkflowID, RunID: d.RunID, TaskQueue: d.TaskQueue, State: state}
	if err := c.readEnds(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "a state not known yet"
	}
	return s
}

// readEnds fills e's Input from the run's first event and its Result from
// its last.
func (c *Client) readEnds(ctx context.Context, e *Ended) error {
	exec := &commonpb.WorkflowExecution{WorkflowId: e.WorkflowID, RunId: e.RunID}
	first, err := c.sdk.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: c.namespace, Execution: exec, MaximumPageSize: 1,
	})
	if err != nil {
		return c.explain(err, e.WorkflowID)
	}
	events := first.GetHistory().GetEvents()
	if len(events) == 0 || events[0].GetWorkflowExecutionStartedEventAttributes() == nil {
		return fmt.Errorf("the history of run %s of %s does not begin with its start", e.RunID, e.WorkflowID)
	}
	if err := decodePayloads(events[0].GetWorkflowExecutionStartedEventAttributes().GetInput(), &e.Input); err != nil {
		return fmt.Errorf("the input of run %s of %s is not a statedriven input: %w", e.RunID, e.WorkflowID, err)
	}
	last, err := c.sdk.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace: c.namespace, Execution: exec, MaximumPageSize: 1,
	})
	if err != nil {
		return c.explain(err, e.WorkflowID)
	}
	// The answer is the last batch of events, newest first.
	for _, ev := range last.GetHistory().GetEvents() {
		if res := closeResult(ev); res != nil {
			e.Result = res
			break
		}
	}
	return nil
}

// closeResult decodes the workflows.Result that a FAILED run carries as
// its ApplicationError's details, or a CANCELLED one as its
// cancellation's; nil when the close event carries none.
func closeResult(ev *historypb.HistoryEvent) *workflows.Result {
	var details *commonpb.Payloads
	if a := ev.GetWorkflowExecutionCanceledEventAttributes(); a != nil {
		details = a.GetDetails()
	}
	if a := ev.GetWorkflowExecutionFailedEventAttributes(); a != nil {
		details = applicationDetails(a.GetFailure())
	}
	if len(details.GetPayloads()) == 0 {
		return nil
	}
	var res workflows.Result
	if err := decodePayloads(details, &res); err != nil {
		return nil
	}
	return &res
}

// applicationDetails is the details of the first application failure in
// the chain of f (the workflow's own error, or what it wraps).
func applicationDetails(f *failurepb.Failure) *commonpb.Payloads {
	for ; f != nil; f = f.GetCause() {
		if info := f.GetApplicationFailureInfo(); info != nil && len(info.GetDetails().GetPayloads()) > 0 {
			return info.GetDetails()
		}
	}
	return nil
}

// decodePayloads decodes the first payload into v.
func decodePayloads(p *commonpb.Payloads, v any) error {
	if len(p.GetPayloads()) == 0 {
		return errors.New("no payload")
	}
	return converter.GetDefaultDataConverter().FromPayload(p.GetPayloads()[0], v)
}

// PlanOf asks the run (runID "" for the latest) of workflowID for the
// plan it follows: the definition query, which needs a worker (for a
// closed run, one that replays it).
func (c *Client) PlanOf(ctx context.Context, workflowID, runID string) (*definition.Plan, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	v, err := c.sdk.QueryWorkflow(ctx, workflowID, runID, contract.QueryDefinition)
	if err != nil {
		return nil, c.explainQuery(err, workflowID, contract.QueryDefinition)
	}
	var raw json.RawMessage
	if err := v.Get(&raw); err != nil {
		return nil, fmt.Errorf("decode the answer to the definition query of %s: %w", workflowID, err)
	}
	var p definition.Plan
	if err := Decode(raw, contract.QueryDefinition, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
