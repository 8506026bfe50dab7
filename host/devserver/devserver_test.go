package devserver_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/host/devserver"
)

func TestServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t, t.TempDir())
	require.Equal(t, "default", s.Namespace())

	// Record what the frontend answers, which the SDK does not tell: was
	// the start eager, and did workflow task completions hand activities
	// back to the worker (eager activities)?
	eagerStart := make(chan bool, 1)
	var eagerActivities atomic.Int32
	record := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoke(ctx, method, req, reply, cc, opts...)
		if err != nil {
			return err
		}
		switch resp := reply.(type) {
		case *workflowservice.StartWorkflowExecutionResponse:
			eagerStart <- resp.GetEagerWorkflowTask() != nil
		case *workflowservice.RespondWorkflowTaskCompletedResponse:
			eagerActivities.Add(int32(len(resp.GetActivityTasks())))
		}
		return nil
	}
	c := dial(t, s, client.Options{ConnectionOptions: client.ConnectionOptions{
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(record)},
	}})

	t.Run("search attributes", func(t *testing.T) {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
		require.NoError(t, err)
		for name, typ := range host.SearchAttributes() {
			require.Equal(t, typ, resp.GetCustomAttributes()[name], name)
		}
		require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, resp.GetCustomAttributes()["WorkflowState"])
	})

	t.Run("a workflow with a real worker, started eagerly", func(t *testing.T) {
		startWorker(t, c, "greetings")
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:               "greet-eager",
			TaskQueue:        "greetings",
			EnableEagerStart: true,
		}, "Greet", "world")
		require.NoError(t, err)
		require.True(t, <-eagerStart, "the start response carries the first workflow task")
		var out string
		require.NoError(t, run.Get(ctx, &out))
		require.Equal(t, "WORLD!", out)
		require.EqualValues(t, 1, eagerActivities.Load(), "the activity came back with the workflow task's completion")
	})

	t.Run("web UI", func(t *testing.T) {
		require.True(t, strings.HasPrefix(s.UIAddress(), "http://127.0.0.1:"), s.UIAddress())
		resp, err := http.Get(s.UIAddress())
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
		require.Contains(t, strings.ToLower(string(body)), "<html")
	})
}

func TestRestartKeepsWorkflows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()

	first, err := devserver.Start(ctx, devserver.Options{DataDir: dir, UIPort: devserver.NoUI, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Stop() }) // in case the test fails before it stops it
	require.Empty(t, first.UIAddress())
	c := newClient(t, first, client.Options{})
	w := newWorker(t, c, "restart")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "before-restart", TaskQueue: "restart"}, "Greet", "again")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	w.Stop()
	c.Close()
	require.NoError(t, first.Stop())
	require.NoError(t, first.Stop(), "Stop is idempotent")

	second := startServer(t, dir)
	c = dial(t, second, client.Options{})
	desc, err := c.DescribeWorkflowExecution(ctx, "before-restart", "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	require.Equal(t, run.GetRunID(), desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())

	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: second.Namespace()})
	require.NoError(t, err)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_INT, resp.GetCustomAttributes()["WorkflowProgress"])

	// And the restarted server runs new work at once.
	startWorker(t, c, "restart")
	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "after-restart", TaskQueue: "restart"}, "Greet", "after")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "AFTER!", out)
}
