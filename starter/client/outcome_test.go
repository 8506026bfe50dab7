package client

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

func TestOutcomeOfResult(t *testing.T) {
	t.Parallel()
	o, err := OutcomeOf(workflows.Result{State: statemachine.Complete}, nil)
	require.NoError(t, err)
	require.Equal(t, EndComplete, o.State)
	require.True(t, o.Complete())

	o, err = OutcomeOf(workflows.Result{State: statemachine.Failed, Error: "step charge: declined"}, nil)
	require.NoError(t, err)
	require.Equal(t, EndFailed, o.State)
	require.Equal(t, "step charge: declined", o.Error)
	require.False(t, o.Complete())

	o, err = OutcomeOf(workflows.Result{}, nil)
	require.NoError(t, err)
	require.Equal(t, EndComplete, o.State, "Temporal says completed; a non-terminal state does not change that")
}

func TestOutcomeOfOtherError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection lost")
	_, err := OutcomeOf(workflows.Result{}, boom)
	require.ErrorIs(t, err, boom)
}

func TestEndOf(t *testing.T) {
	t.Parallel()
	terminated := temporal.GetDefaultFailureConverter().FailureToError(&failurepb.Failure{
		Message:     "terminated",
		FailureInfo: &failurepb.Failure_TerminatedFailureInfo{TerminatedFailureInfo: &failurepb.TerminatedFailureInfo{}},
	})
	var te *temporal.TerminatedError
	require.ErrorAs(t, terminated, &te)

	activityTimeout := temporal.NewApplicationErrorWithCause("step failed", "StepError",
		temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil))

	require.Equal(t, EndCancelled, endOf(temporal.NewCanceledError()))
	require.Equal(t, EndTerminated, endOf(terminated))
	require.Equal(t, EndTimedOut, endOf(temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)))
	require.Equal(t, EndFailed, endOf(temporal.NewApplicationError("declined", "PaymentError")))
	require.Equal(t, EndFailed, endOf(activityTimeout), "only the direct cause counts")
}

func TestEndNamesAreStateNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, statemachine.Complete.String(), EndComplete)
	require.Equal(t, statemachine.Failed.String(), EndFailed)
	require.Equal(t, statemachine.Cancelled.String(), EndCancelled)
}
