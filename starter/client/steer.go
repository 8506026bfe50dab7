package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/statedriven/statedriven/contract"
)

// Signal sends one of the workflow's signals (pause, resume, cancel) with
// its Reason payload to the latest run of workflowID. A signal is
// fire-and-forget: the run acts on it when a worker next runs it.
func (c *Client) Signal(ctx context.Context, workflowID, name string, r contract.Reason) error {
	err := c.sdk.SignalWorkflow(ctx, workflowID, "", name, r)
	return c.explain(err, workflowID)
}

// Update sends one of the workflow's updates (approve, reject, pause,
// resume, rollback, transition, skip, modify) with its payload (a
// contract.Reason, RollbackRequest, TransitionRequest or ModifyRequest)
// and waits until the workflow has handled it. It returns the update's
// result as JSON ("null" when it has none): a contract.StateView. When
// the workflow's validator refuses the update, the error matches
// ErrRefused and its message is the workflow's; when the run's worker
// does not know the update at all (it is older), the error matches
// ErrUnknownUpdate. The wait lasts as long as ctx: an update needs a
// worker to run it.
func (c *Client) Update(ctx context.Context, workflowID, name string, payload any) (json.RawMessage, error) {
	h, err := c.sdk.UpdateWorkflow(ctx, sdkclient.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   name,
		Args:         []any{payload},
		WaitForStage: sdkclient.WorkflowUpdateStageCompleted,
	})
	var raw json.RawMessage
	if err == nil {
		err = h.Get(ctx, &raw)
	}
	if err != nil {
		if ctx.Err() != nil {
			// The SDK words an interrupted wait as its own error; the
			// caller wants to know it was the context.
			return nil, fmt.Errorf("%s %s: %w", name, workflowID, ctx.Err())
		}
		return nil, c.explainUpdate(err, workflowID, name)
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	return raw, nil
}

func (c *Client) explainUpdate(err error, workflowID, name string) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && unknownUpdate(app.Message()) {
		return &Error{Kind: ErrUnknownUpdate, Message: fmt.Sprintf("the worker of workflow %s is older than this starter and does not know the %s update: "+
			"upgrade the worker that runs it (it answered: %s)", workflowID, name, app.Message()), Err: err}
	}
	if errors.As(err, &app) {
		return &Error{Kind: ErrRefused, Message: fmt.Sprintf("workflow %s refused %s: %s", workflowID, name, app.Message()), Err: err}
	}
	return c.explain(err, workflowID)
}

// unknownUpdate reports whether a refusal is the SDK's own, for an update
// the workflow registers no handler for ("unknown update pause.
// KnownUpdates=[approve reject]"), rather than a validator's.
func unknownUpdate(message string) bool {
	return strings.HasPrefix(message, "unknown update ")
}

// Terminate ends the latest run of workflowID at once, on the server: the
// workflow is not asked, so it runs no compensation and no hook, and the
// run ends TERMINATED. It is the way out for a run whose worker cannot
// run it (see Description.Stuck), where a cancel signal would never be
// read.
func (c *Client) Terminate(ctx context.Context, workflowID, reason string) error {
	err := c.sdk.TerminateWorkflow(ctx, workflowID, "", reason)
	return c.explain(err, workflowID)
}
