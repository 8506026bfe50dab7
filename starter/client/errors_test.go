package client

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestExplain(t *testing.T) {
	t.Parallel()
	target := Target{Address: "127.0.0.1:7233", Namespace: "default", WorkflowID: "order-42"}
	cases := []struct {
		name string
		err  error
		kind error
		want string
	}{
		{
			name: "grpc unavailable",
			err:  status.Error(codes.Unavailable, "connection refused"),
			kind: ErrUnreachable,
			want: "cannot reach Temporal at 127.0.0.1:7233: start a dev server with make run, or set TEMPORAL_ADDRESS",
		},
		{
			name: "serviceerror unavailable, wrapped as Dial does",
			err:  fmt.Errorf("failed reaching server: %w", serviceerror.NewUnavailable("connection error")),
			kind: ErrUnreachable,
			want: "cannot reach Temporal at 127.0.0.1:7233: start a dev server with make run, or set TEMPORAL_ADDRESS",
		},
		{
			name: "not found",
			err:  serviceerror.NewNotFound("workflow not found for ID: order-42"),
			kind: ErrNotFound,
			want: "no workflow with ID order-42 in namespace default: starter list shows the runs there",
		},
		{
			name: "grpc not found",
			err:  status.Error(codes.NotFound, "workflow not found for ID: order-42"),
			kind: ErrNotFound,
			want: "no workflow with ID order-42 in namespace default",
		},
		{
			name: "already completed",
			err:  serviceerror.NewNotFound("workflow execution already completed"),
			kind: ErrFinished,
			want: "workflow order-42 has already finished and takes no more signals or updates",
		},
		{
			name: "namespace",
			err:  serviceerror.NewNamespaceNotFound("default"),
			kind: ErrNamespace,
			want: "namespace default does not exist at 127.0.0.1:7233: create it with temporal operator namespace create --namespace default",
		},
		{
			name: "already started",
			err:  serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-1"),
			kind: ErrAlreadyRunning,
			want: "a workflow with ID order-42 is already running in namespace default: pick another --id, or follow it with starter watch order-42",
		},
		{
			name: "query failed",
			err:  serviceerror.NewQueryFailed("unknown queryType progress"),
			kind: ErrRefused,
			want: "workflow order-42 refused the query: unknown queryType progress",
		},
		{
			name: "permission",
			err:  serviceerror.NewPermissionDenied("no", ""),
			kind: ErrDenied,
			want: "check TEMPORAL_API_KEY",
		},
		{
			name: "invalid argument",
			err:  serviceerror.NewInvalidArgument("invalid query"),
			kind: ErrBadRequest,
			want: "Temporal refused the request: invalid query",
		},
		{
			name: "no poller",
			err:  status.Error(codes.FailedPrecondition, "no poller seen for task queue recently, worker may be down"),
			kind: ErrNoAnswer,
			want: "no worker is polling the task queue of workflow order-42: start one with make run",
		},
		{
			name: "server deadline",
			err:  serviceerror.NewDeadlineExceeded("slow"),
			kind: ErrNoAnswer,
			want: "did not answer in time",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Explain(tc.err, target)
			require.ErrorIs(t, got, tc.kind)
			require.Contains(t, got.Error(), tc.want)
			require.ErrorIs(t, got, tc.err, "Temporal's error stays reachable")
		})
	}
}

func TestExplainLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	target := Target{Address: "a:1", Namespace: "ns", WorkflowID: "w"}
	require.NoError(t, Explain(nil, target))
	for _, err := range []error{
		context.Canceled,
		fmt.Errorf("query: %w", context.DeadlineExceeded),
		errors.New("something else"),
	} {
		require.Same(t, err, Explain(err, target))
	}
	already := Explain(serviceerror.NewNotFound("x"), target)
	require.Same(t, already, Explain(already, Target{WorkflowID: "other"}), "an explained error is not explained twice")
}

func TestCode(t *testing.T) {
	t.Parallel()
	require.Equal(t, codes.Unavailable, Code(fmt.Errorf("wrapped: %w", status.Error(codes.Unavailable, "x"))))
	require.Equal(t, codes.NotFound, Code(serviceerror.NewNotFound("x")))
	require.Equal(t, codes.Unknown, Code(errors.New("plain")))
}
