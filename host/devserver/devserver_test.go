package devserver_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/server/common/persistence"
	dbschemas "go.temporal.io/server/schema"
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

// startToStop starts a server without UI in dir for the test to stop
// (and stops it at the end if the test did not get that far).
func startToStop(t *testing.T, dir string) *devserver.Server {
	t.Helper()
	s, err := devserver.Start(context.Background(), devserver.Options{DataDir: dir, UIPort: devserver.NoUI, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// greetOnce starts a server without UI on dir, runs Greet with opts and
// arg to its end, waits until the list of runs shows it, and stops the
// worker, the client and the server.
func greetOnce(t *testing.T, dir string, opts client.StartWorkflowOptions, arg string) (*devserver.Server, client.WorkflowRun) {
	t.Helper()
	ctx := context.Background()
	s := startToStop(t, dir)
	c := newClient(t, s, client.Options{})
	w := newWorker(t, c, opts.TaskQueue)
	run, err := c.ExecuteWorkflow(ctx, opts, "Greet", arg)
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	listed(t, c, opts.ID)
	w.Stop()
	c.Close()
	require.NoError(t, s.Stop())
	return s, run
}

func TestRestartKeepsWorkflows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()

	first, run := greetOnce(t, dir, client.StartWorkflowOptions{ID: "before-restart", TaskQueue: "restart"}, "again")
	require.Empty(t, first.UIAddress())
	require.NoError(t, first.Stop(), "Stop is idempotent")

	second := startServer(t, dir)
	c := dial(t, second, client.Options{})
	desc, err := c.DescribeWorkflowExecution(ctx, "before-restart", "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	require.Equal(t, run.GetRunID(), desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	require.Equal(t, run.GetRunID(), listed(t, c, "before-restart").GetExecution().GetRunId(), "the list of runs survives too")

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

// listed waits until the visibility store lists the workflow id (it
// writes the list after the run moves on), and returns what it lists.
func listed(t *testing.T, c client.Client, id string) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	var found *workflowpb.WorkflowExecutionInfo
	require.EventuallyWithT(t, func(c2 *assert.CollectT) {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = %q", id)})
		if !assert.NoError(c2, err) || !assert.Len(c2, resp.GetExecutions(), 1) {
			return
		}
		if assert.Equal(c2, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, resp.GetExecutions()[0].GetStatus()) {
			found = resp.GetExecutions()[0]
		}
	}, time.Minute, 20*time.Millisecond, "the list of runs shows %s", id)
	return found
}

// A data dir from before visibility.db kept the list of runs in
// temporal.db: the first start with visibility.db copies them over.
func TestOldDataDirKeepsItsListOfRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	_, run := greetOnce(t, dir, client.StartWorkflowOptions{
		ID: "before-split", TaskQueue: "split",
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("WorkflowState").ValueSet("COMPLETE")),
	}, "old")

	// Make the old layout: the visibility schema and its rows in
	// temporal.db, and no visibility.db.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, devserver.DatabaseFile))
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	schema, err := dbschemas.Assets().Open("sqlite/v3/visibility/schema.sql")
	require.NoError(t, err)
	statements, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{schema})
	require.NoError(t, err)
	for _, stmt := range statements {
		_, err := db.Exec(stmt)
		require.NoError(t, err)
	}
	// That code recorded both schemas' versions in the one file.
	_, err = db.Exec(`INSERT INTO schema_version (version_partition, db_name, creation_time, curr_version, min_compatible_version)
		VALUES (0, 'temporal_visibility', '2026-11-27 17:40:00+00:00', '0.1', '0.1')`)
	require.NoError(t, err)
	_, err = db.Exec("ATTACH DATABASE ? AS v", filepath.Join(dir, devserver.VisibilityFile))
	require.NoError(t, err)
	const columns = "namespace_id, run_id, _version, start_time, execution_time, workflow_id, workflow_type_name, status, close_time, " +
		"history_length, history_size_bytes, execution_duration, state_transition_count, memo, encoding, task_queue, search_attributes, " +
		"parent_workflow_id, parent_run_id, root_workflow_id, root_run_id"
	res, err := db.Exec("INSERT INTO main.executions_visibility (" + columns + ") SELECT " + columns + " FROM v.executions_visibility")
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Positive(t, n, "the run, and the server's own workflows")
	// On restart the server may write the last runs' rows again from its
	// own queue; a run listed only in the old table can come from the
	// copy alone.
	_, err = db.Exec("INSERT INTO main.executions_visibility (" + columns + ") SELECT " +
		strings.Replace(strings.Replace(columns, "run_id", "'r-only-listed'", 1), "workflow_id", "'only-listed'", 1) +
		" FROM v.executions_visibility WHERE workflow_id = 'before-split'")
	require.NoError(t, err)
	// A copy in a new dir, for the server package keeps connections to
	// the files of the first server (by name) for the life of the process.
	old := t.TempDir()
	_, err = db.Exec("VACUUM INTO ?", filepath.Join(old, devserver.DatabaseFile))
	require.NoError(t, err)
	require.NoError(t, db.Close())

	second := startServer(t, old)
	c := dial(t, second, client.Options{})
	require.Equal(t, run.GetRunID(), listed(t, c, "before-split").GetExecution().GetRunId())
	require.Equal(t, "r-only-listed", listed(t, c, "only-listed").GetExecution().GetRunId())
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: `WorkflowState = "COMPLETE"`})
	require.NoError(t, err)
	require.Len(t, resp.GetExecutions(), 2, "their search attributes came along")
}

// Without a data dir the server keeps everything in memory: the SQLite
// plugin creates both schemas itself, and nothing goes through the
// schema tool.
func TestInMemoryServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startToStop(t, "")
	c := dial(t, s, client.Options{})
	startWorker(t, c, "memory")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "in-memory", TaskQueue: "memory"}, "Greet", "memory")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "MEMORY!", out)
	require.Equal(t, run.GetRunID(), listed(t, c, "in-memory").GetExecution().GetRunId())
}
