package workflows_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/workflows"
)

var recordHistories = flag.Bool("record", false, "write the histories of the engine tests' runs to testdata/histories")

const historyDir = "testdata/histories"

// ids.json maps each fixture to the workflow ID it was recorded under:
// replay needs it, since child workflow IDs are derived from it.
var (
	idsFile = filepath.Join(historyDir, "ids.json")
	idsMu   sync.Mutex
)

func readIDs(t *testing.T) map[string]string {
	t.Helper()
	ids := map[string]string{}
	data, err := os.ReadFile(idsFile)
	if os.IsNotExist(err) {
		return ids
	}
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &ids))
	return ids
}

// record keeps the history of one run as a replay fixture when the tests
// run with -record. Fixtures are made by the code of the day and kept:
// later changes to workflow logic must still replay them.
func (b *bundle) record(name, workflowID, runID string) {
	b.t.Helper()
	if !*recordHistories {
		return
	}
	h := &historypb.History{Events: b.events(workflowID, runID)}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(b.t, err)
	require.NoError(b.t, os.MkdirAll(historyDir, 0o755))
	require.NoError(b.t, os.WriteFile(filepath.Join(historyDir, name+".json"), data, 0o644))
	idsMu.Lock()
	defer idsMu.Unlock()
	ids := readIDs(b.t)
	ids[name] = workflowID
	out, err := json.MarshalIndent(ids, "", "  ")
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(idsFile, append(out, '\n'), 0o644))
}

// TestReplayRecordedHistories replays every recorded history against the
// workflow code of today: a change that breaks determinism for runs
// already in flight fails here.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	if *recordHistories {
		t.Skip("-record writes the histories; run again without it to replay them")
	}
	ids := readIDs(t)
	require.GreaterOrEqual(t, len(ids), 8, "record them with: go test ./workflows/ -record")
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join(historyDir, name+".json"))
			require.NoError(t, err)
			defer f.Close()
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.StateDriven, workflow.RegisterOptions{Name: contract.WorkflowType})
			replayer.RegisterWorkflowWithOptions(workflows.MapBatch, workflow.RegisterOptions{Name: workflows.MapBatchWorkflowType})
			require.NoError(t, replayer.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: id},
			}))
		})
	}
}
