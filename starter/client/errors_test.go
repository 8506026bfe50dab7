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
			want: "cannot reach Temporal at 127.0.0.1:7233: nothing listens there (connection refused); start a dev server with make run",
		},
		{
			name: "serviceerror unavailable, wrapped as Dial does",
			err:  fmt.Errorf("failed reaching server: %w", serviceerror.NewUnavailable("connection error")),
			kind: ErrUnreachable,
			want: "cannot reach Temporal at 127.0.0.1:7233 (connection error): start a dev server with make run, or set TEMPORAL_ADDRESS (or --address)",
		},
		{
			name: "host that does not resolve",
			err: status.Error(codes.Unavailable,
				`connection error: desc = "transport: Error while dialing: dial tcp: lookup temporal.invalid: no such host"`),
			kind: ErrUnreachable,
			want: "the host name does not resolve (dial tcp: lookup temporal.invalid: no such host); check TEMPORAL_ADDRESS",
		},
		{
			name: "other handshake failure",
			err: status.Error(codes.Unavailable,
				`connection error: desc = "transport: authentication handshake failed: tls: handshake failure"`),
			kind: ErrTLS,
			want: "TLS handshake with 127.0.0.1:7233 failed (tls: handshake failure): check the TEMPORAL_TLS_* settings",
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
			want: "namespace default does not exist at 127.0.0.1:7233: give the right one with --namespace or TEMPORAL_NAMESPACE",
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
			err:  serviceerror.NewPermissionDenied("Request unauthorized.", ""),
			kind: ErrDenied,
			want: "Temporal at 127.0.0.1:7233 refused the request (Request unauthorized.): it wants credentials with rights in namespace default; set TEMPORAL_API_KEY",
		},
		{
			name: "no credentials",
			err:  status.Error(codes.Unauthenticated, "Request unauthenticated."),
			kind: ErrDenied,
			want: "Temporal at 127.0.0.1:7233 wants credentials (Request unauthenticated.): set TEMPORAL_API_KEY, or a client certificate",
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
			kind: ErrTimeout,
			want: "Temporal at 127.0.0.1:7233 did not answer in time: something may listen there that is not Temporal",
		},
		{
			name: "the caller's deadline",
			err:  fmt.Errorf("query: %w", context.DeadlineExceeded),
			kind: ErrTimeout,
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
		errors.New("something else"),
	} {
		require.Same(t, err, Explain(err, target))
	}
	already := Explain(serviceerror.NewNotFound("x"), target)
	require.Same(t, already, Explain(already, Target{WorkflowID: "other"}), "an explained error is not explained twice")
}

// With an API key set, Unauthenticated means the key itself. The
// in-process server, given an authorizer, answers PermissionDenied
// (TestCauseCredentials); Unauthenticated is what Temporal Cloud answers,
// so it is tested over the status value only.
func TestExplainBadAPIKey(t *testing.T) {
	t.Parallel()
	got := Explain(status.Error(codes.Unauthenticated, "Request unauthenticated."), Target{Address: "a:1", Namespace: "ns", TLS: true, APIKey: true})
	require.ErrorIs(t, got, ErrDenied)
	require.Equal(t, "Temporal at a:1 did not accept the API key (Request unauthenticated.): check that TEMPORAL_API_KEY holds a valid, "+
		"unexpired key for this server and namespace ns", got.Error())
}

func TestCode(t *testing.T) {
	t.Parallel()
	require.Equal(t, codes.Unavailable, Code(fmt.Errorf("wrapped: %w", status.Error(codes.Unavailable, "x"))))
	require.Equal(t, codes.NotFound, Code(serviceerror.NewNotFound("x")))
	require.Equal(t, codes.Unknown, Code(errors.New("plain")))
}
