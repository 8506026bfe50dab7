package client

import (
	"testing"

	"github.com/stretchr/testify/require"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// The Result a FAILED run leaves in its ApplicationError's details, and a
// CANCELLED one in its cancellation's, is what a redrive starts from.
func TestCloseResult(t *testing.T) {
	t.Parallel()
	want := workflows.Result{State: statemachine.Failed, Step: "check", Steps: map[string]any{"load": "x"}, PlanHash: "sha256:00"}
	details, err := converter.GetDefaultDataConverter().ToPayloads(want)
	require.NoError(t, err)

	failed := &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{
		WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{Failure: &failurepb.Failure{
			Message: "step check: refused",
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
				Type: workflows.ErrTypeRunFailed, Details: details,
			}},
		}},
	}}
	require.Equal(t, &want, closeResult(failed))

	wrapped := &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{
		WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{Failure: &failurepb.Failure{
			Message: "wrapped",
			Cause:   failed.GetWorkflowExecutionFailedEventAttributes().GetFailure(),
		}},
	}}
	require.Equal(t, &want, closeResult(wrapped), "the details of the application failure it wraps")

	cancelled := &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionCanceledEventAttributes{
		WorkflowExecutionCanceledEventAttributes: &historypb.WorkflowExecutionCanceledEventAttributes{Details: details},
	}}
	require.Equal(t, &want, closeResult(cancelled))

	bare := &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{
		WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{Failure: &failurepb.Failure{Message: "no details"}},
	}}
	require.Nil(t, closeResult(bare), "a worker older than redrive leaves no Result")
}
