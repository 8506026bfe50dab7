package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	starter "github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// chainRun is one Temporal run of a continue-as-new chain, as measured.
type chainRun struct {
	runID        string
	inputBytes   int   // the size of its input payload
	historyBytes int64 // the size of its whole history
	events       int64
}

// chain walks a run's continue-as-new chain back from the latest run and
// measures each run's input and history.
func (b *bundle) chain(workflowID string) []chainRun {
	b.t.Helper()
	var out []chainRun
	runID := ""
	for {
		desc, err := b.client.DescribeWorkflowExecution(b.ctx, workflowID, runID)
		require.NoError(b.t, err)
		info := desc.GetWorkflowExecutionInfo()
		runID = info.GetExecution().GetRunId()
		resp, err := b.client.WorkflowService().GetWorkflowExecutionHistory(b.ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: sharedServer(b.t).GetDefaultNamespace(), Execution: info.GetExecution(), MaximumPageSize: 1,
		})
		require.NoError(b.t, err)
		started := resp.GetHistory().GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
		out = append(out, chainRun{
			runID:        runID,
			inputBytes:   started.GetInput().Size(),
			historyBytes: info.GetHistorySizeBytes(),
			events:       info.GetHistoryLength(),
		})
		runID = started.GetContinuedExecutionRunId()
		if runID == "" {
			return out
		}
	}
}

// largest returns the largest input and history of a chain.
func largest(runs []chainRun) (input int, history int64, events int64) {
	for _, r := range runs {
		input = max(input, r.inputBytes)
		history = max(history, r.historyBytes)
		events = max(events, r.events)
	}
	return input, history, events
}

// counter registers the count action, starts the worker and compiles a
// loop that counts to total, each output carrying note beside the count.
func (b *bundle) counter(total int, note string) *definition.Plan {
	b.t.Helper()
	b.reg.MustRegister("count", func(ctx context.Context, in contract.StepInput) (any, error) {
		n, _ := in.Input.(map[string]any)["n"].(float64)
		return map[string]any{"n": n + 1, "note": note}, nil
	})
	b.startWorker()
	return b.plan(fmt.Sprintf(`
workflow_id: counter
initial_step: count
steps:
  - name: count
    action: count
    input: {n: "has(steps.count) ? steps.count.n : 0"}
    when:
      - if: "result.n >= %d"
        next: done
    next: count
  - {name: done, type: succeed}
`, total))
}

// requireWholeTrail reads the run's trail as `starter history` does and
// checks it runs from seq 1 to the end without a gap or a repeat.
func requireWholeTrail(t *testing.T, b *bundle, workflowID string, atLeast int) []statemachine.Record {
	t.Helper()
	c, err := starter.Dial(b.ctx, starter.Config{Address: sharedServer(t).GetFrontendHostPort(), Namespace: sharedServer(t).GetDefaultNamespace()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	trail, err := c.Trail(b.ctx, workflowID)
	require.NoError(t, err)
	require.Empty(t, trail.Gaps)
	require.GreaterOrEqual(t, len(trail.Records), atLeast)
	requireContiguous(t, trail.Records)
	return trail.Records
}

// The carried state and each run's history stay bounded however long a
// run loops: a counter loop of 50,000 steps, continued as new every 100
// steps, never carries more than a fixed size, and its whole trail reads
// back contiguous.
func TestLongLoopStaysBounded(t *testing.T) {
	t.Parallel()
	const total = 50_000
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	t.Cleanup(cancel)
	b.ctx = ctx
	plan := b.counter(total, strings.Repeat("x", 64))
	run := b.start(plan, nil, func(in *workflows.Input) { in.MaxStepsPerRun = 100 })
	var res workflows.Result
	require.NoError(t, getResult(ctx, run, &res))
	require.Equal(t, statemachine.Complete, res.State)

	runs := b.chain(run.GetID())
	input, history, events := largest(runs)
	t.Logf("%d steps in %d runs: largest input %d bytes, largest history %d bytes (%d events)", total, len(runs), input, history, events)
	require.GreaterOrEqual(t, len(runs), total/100)
	require.Less(t, input, 256<<10, "the carried input is bounded by the windows")
	require.Less(t, history, int64(1<<20), "each run's history is bounded by MaxStepsPerRun")

	records := requireWholeTrail(t, b, run.GetID(), 2*total)
	require.Len(t, steps(records, statemachine.EventStepCompleted), total)
	t.Logf("starter history read %d records", len(records))
}

// A plain sequence of 2,000 log steps, which once stopped after 682
// steps on a carry over the payload limit, runs to the end.
func TestLongSequenceCompletes(t *testing.T) {
	t.Parallel()
	const total = 2000
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	b.ctx = ctx
	b.startWorker()
	var def strings.Builder
	def.WriteString("workflow_id: long-sequence\ninitial_step: s0\nsteps:\n")
	for i := range total {
		fmt.Fprintf(&def, "  - {name: s%d, action: log, params: {message: \"step %d of a long sequence\"}}\n", i, i)
	}
	plan := b.plan(def.String())
	run := b.start(plan, nil)
	var res workflows.Result
	require.NoError(t, getResult(ctx, run, &res))
	require.Equal(t, statemachine.Complete, res.State)

	runs := b.chain(run.GetID())
	input, history, events := largest(runs)
	t.Logf("%d steps in %d runs: largest input %d bytes, largest history %d bytes (%d events)", total, len(runs), input, history, events)
	records := requireWholeTrail(t, b, run.GetID(), 2*total)
	require.Len(t, steps(records, statemachine.EventStepCompleted), total)
}

// The carried input of the chain's last run decodes, and its machine
// keeps only the windows.
func TestCarryKeepsOnlyTheWindows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plan := b.counter(60, "")
	run := b.start(plan, nil, func(in *workflows.Input) { in.HistoryWindow, in.RollbackWindow = 20, 3 })
	require.NoError(t, run.Get(b.ctx, nil))
	runs := b.chain(run.GetID())
	require.Greater(t, len(runs), 5, "half the window (10 records, 5 steps) forces continue-as-new")

	var in workflows.Input
	last := b.events(run.GetID(), runs[0].runID)[0].GetWorkflowExecutionStartedEventAttributes()
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(last.GetInput(), &in))
	require.NotNil(t, in.Carry)
	require.LessOrEqual(t, len(in.Carry.Machine.History), 20+10+2)
	require.LessOrEqual(t, len(in.Carry.Machine.Checkpoints), 4)
	require.Greater(t, in.Carry.Machine.CompletedCount, 50)

	b.record("window-first-run", run.GetID(), runs[len(runs)-1].runID)
	b.record("window-last-run", run.GetID(), runs[0].runID)

	h := b.history(run)
	require.Equal(t, uint64(len(h)), h[len(h)-1].Seq-h[0].Seq+1, "the query answers the kept records, contiguous")
	require.Greater(t, h[0].Seq, uint64(1))

	// A page: {"from_seq": N, "limit": M}.
	v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", contract.QueryHistory, contract.HistoryRequest{FromSeq: h[0].Seq + 2, Limit: 3})
	require.NoError(t, err)
	var page []statemachine.Record
	require.NoError(t, v.Get(&page))
	require.Equal(t, h[2:5], page)
	requireWholeTrail(t, b, run.GetID(), 120)

	// The outcome's start is the chain's, not its last run's.
	c, err := starter.Dial(b.ctx, starter.Config{Address: sharedServer(t).GetFrontendHostPort(), Namespace: sharedServer(t).GetDefaultNamespace()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	o, err := c.Wait(b.ctx, run.GetID(), "")
	require.NoError(t, err)
	first, err := b.client.DescribeWorkflowExecution(b.ctx, run.GetID(), runs[len(runs)-1].runID)
	require.NoError(t, err)
	require.Equal(t, first.GetWorkflowExecutionInfo().GetStartTime().AsTime(), o.Start)
}

// getResult waits for a long run's result. One wait is a chain of long
// polls; on a loaded machine one of them can time out on the server side
// ("context deadline exceeded") while the run goes on: ask again until
// ctx itself ends.
func getResult(ctx context.Context, run client.WorkflowRun, out any) error {
	for {
		err := run.Get(ctx, out)
		var deadline *serviceerror.DeadlineExceeded
		if err != nil && ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline)) {
			continue
		}
		return err
	}
}
