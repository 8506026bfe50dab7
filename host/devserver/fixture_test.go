package devserver_test

import (
	"compress/gzip"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/statedriven/statedriven/host/devserver"
)

// oldDataDir is a data dir that statedriven made before its schemas went
// through Temporal's schema tool (commit 3d378e6: server v1.32.1, main
// schema 0.11 and visibility schema 0.1, their versions recorded under
// the names "temporal" and "temporal_visibility"), gzipped file by file.
// It holds two completed runs of Greet and a run of Await that waits for
// its signal. TestMakeDataDirFixture made it.
const oldDataDir = "testdata/datadir-3d378e6"

// oldLayoutDataDir is a data dir of statedriven before visibility.db
// (commit a365e8f, the same server and schema versions): one file,
// temporal.db, with both schemas, both versions and the list of runs,
// and the same runs as oldDataDir. It was made by a copy of
// TestMakeDataDirFixture run in that commit's tree.
const oldLayoutDataDir = "testdata/datadir-a365e8f"

// fixtureEnv names the directory that TestMakeDataDirFixture writes a
// data dir of the current code into; unset, it is skipped.
const fixtureEnv = "STATEDRIVEN_DATA_DIR_FIXTURE"

// Await waits for the signal "go" and answers with its value.
func Await(ctx workflow.Context) (string, error) {
	var s string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
	return s, nil
}

// TestMakeDataDirFixture writes a data dir of this code, vacuumed and
// gzipped, into $STATEDRIVEN_DATA_DIR_FIXTURE: before a change of how the
// dev server keeps its files (or of the server module), make one, check
// it in beside oldDataDir and test that the new code opens it.
func TestMakeDataDirFixture(t *testing.T) {
	out := os.Getenv(fixtureEnv)
	if out == "" {
		t.Skip("set " + fixtureEnv + " to a directory to write a data dir fixture into")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s := startToStop(t, dir)
	c := newClient(t, s, client.Options{})
	defer c.Close()
	// Completed runs are deleted a retention period after they close,
	// also when a server opens the fixture years later: keep them for a
	// century. The frontend writes it; the history service reads it from
	// a cache that refreshes every 2 s, and schedules the deletion when
	// the run closes.
	_, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: s.Namespace(),
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(100 * 365 * 24 * time.Hour)},
	})
	require.NoError(t, err)
	time.Sleep(5 * time.Second) // a one-off tool, not a test: see the comment above
	w := newWorker(t, c, "fixture")
	w.RegisterWorkflowWithOptions(Await, workflow.RegisterOptions{Name: "Await"})
	for id, arg := range map[string]string{"fixture-done-1": "one", "fixture-done-2": "two"} {
		opts := client.StartWorkflowOptions{ID: id, TaskQueue: "fixture"}
		if id == "fixture-done-1" {
			opts.TypedSearchAttributes = temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("WorkflowState").ValueSet("COMPLETE"))
		}
		run, err := c.ExecuteWorkflow(ctx, opts, "Greet", arg)
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		listed(t, c, id)
	}
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "fixture-waiting", TaskQueue: "fixture"}, "Await")
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		desc, err := c.DescribeWorkflowExecution(ctx, "fixture-waiting", "")
		if assert.NoError(ct, err) {
			assert.Nil(ct, desc.GetPendingWorkflowTask(), "its first workflow task is done: it waits for the signal")
			assert.GreaterOrEqual(ct, desc.GetWorkflowExecutionInfo().GetHistoryLength(), int64(4))
		}
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: `WorkflowId = "fixture-waiting"`})
		if assert.NoError(ct, err) {
			assert.Len(ct, resp.GetExecutions(), 1)
		}
	}, time.Minute, 20*time.Millisecond)
	w.Stop()
	require.NoError(t, s.Stop())

	require.NoError(t, os.MkdirAll(out, 0o755))
	for _, name := range []string{devserver.DatabaseFile, devserver.VisibilityFile} {
		vacuumed := filepath.Join(t.TempDir(), name)
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, name))
		require.NoError(t, err)
		_, err = db.Exec("VACUUM INTO ?", vacuumed)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		gzipFile(t, vacuumed, filepath.Join(out, name+".gz"))
	}
}

func gzipFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer func() { _ = in.Close() }()
	f, err := os.Create(to)
	require.NoError(t, err)
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	require.NoError(t, err)
	_, err = io.Copy(zw, in)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
}

// unpack gunzips the files of fixture into a new directory and returns it.
func unpack(t *testing.T, fixture string) string {
	t.Helper()
	dir := t.TempDir()
	gzipped, err := filepath.Glob(filepath.Join(fixture, "*.gz"))
	require.NoError(t, err)
	require.NotEmpty(t, gzipped)
	for _, from := range gzipped {
		in, err := os.Open(from)
		require.NoError(t, err)
		zr, err := gzip.NewReader(in)
		require.NoError(t, err)
		f, err := os.Create(filepath.Join(dir, filepath.Base(from[:len(from)-len(".gz")])))
		require.NoError(t, err)
		_, err = io.Copy(f, zr)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		require.NoError(t, in.Close())
	}
	return dir
}

// requireOldRunsServe checks, on a server that opened oldDataDir, that its
// runs are there, listed and searchable, that the waiting one goes on when
// signalled, and that a new run starts and completes.
func requireOldRunsServe(t *testing.T, s *devserver.Server) {
	t.Helper()
	ctx := context.Background()
	c := dial(t, s, client.Options{})
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()})
	require.NoError(t, err)
	require.Greater(t, ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), 50*365*24*time.Hour,
		"the fixture's completed runs outlive the test")
	for id, want := range map[string]string{"fixture-done-1": "ONE!", "fixture-done-2": "TWO!"} {
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(t, err, id)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus(), id)
		var out string
		require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &out), id)
		require.Equal(t, want, out, id)
		require.Equal(t, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), listed(t, c, id).GetExecution().GetRunId(), id)
	}
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: `WorkflowState = "COMPLETE"`})
	require.NoError(t, err)
	require.Len(t, resp.GetExecutions(), 1, "the search attribute came along")
	require.Equal(t, "fixture-done-1", resp.GetExecutions()[0].GetExecution().GetWorkflowId())

	desc, err := c.DescribeWorkflowExecution(ctx, "fixture-waiting", "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
	w := newWorker(t, c, "fixture")
	w.RegisterWorkflowWithOptions(Await, workflow.RegisterOptions{Name: "Await"})
	t.Cleanup(w.Stop)
	require.NoError(t, c.SignalWorkflow(ctx, "fixture-waiting", "", "go", "on"))
	var out string
	require.NoError(t, c.GetWorkflow(ctx, "fixture-waiting", "").Get(ctx, &out))
	require.Equal(t, "on", out)

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "fixture-new", TaskQueue: "fixture"}, "Greet", "new")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "NEW!", out)
}

// A data dir of the code before the schema tool opens, in another
// directory than the one it was made in, with its runs.
func TestOldDataDirOpens(t *testing.T) {
	t.Parallel()
	requireOldRunsServe(t, startToStop(t, unpack(t, oldDataDir)))
}

// A data dir from before visibility.db opens with its runs, and their
// list moves into the new visibility.db.
func TestOldLayoutDataDirOpens(t *testing.T) {
	t.Parallel()
	dir := unpack(t, oldLayoutDataDir)
	_, err := os.Stat(filepath.Join(dir, devserver.VisibilityFile))
	require.ErrorIs(t, err, os.ErrNotExist)
	requireOldRunsServe(t, startToStop(t, dir))
}

// A data dir of the code before the schema tool, one schema version
// behind (0.11 added current_chasm_executions), is upgraded and opens
// with its runs.
func TestOldDataDirIsUpgraded(t *testing.T) {
	t.Parallel()
	dir := unpack(t, oldDataDir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, devserver.DatabaseFile))
	require.NoError(t, err)
	for _, stmt := range []string{
		"DROP TABLE current_chasm_executions",
		"UPDATE schema_version SET curr_version = '0.10', min_compatible_version = '0.10' WHERE db_name = 'temporal'",
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	requireOldRunsServe(t, startToStop(t, dir))

	db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, devserver.DatabaseFile))
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	var tables int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'current_chasm_executions'").Scan(&tables))
	require.Equal(t, 1, tables)
	var versions []string
	rows, err := db.Query("SELECT curr_version FROM schema_version")
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"0.11"}, versions)
	var upgrades int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM schema_update_history WHERE old_version = '0.10' AND new_version = '0.11'").Scan(&upgrades))
	require.Equal(t, 1, upgrades, "the upgrade is in the history")
}
