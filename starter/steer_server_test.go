package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/starter/internal/testserver"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// These tests steer real runs with the operator's verbs, against the
// in-process server and the real workflow.

// awaitState waits until the latest run of id answers the state query
// with state, and returns what it answered.
func awaitState(t *testing.T, id string, state statemachine.State) contract.StateView {
	t.Helper()
	var v contract.StateView
	require.Eventually(t, func() bool {
		ans, err := testserver.Client(t).QueryWorkflow(context.Background(), id, "", contract.QueryState)
		if err != nil {
			return false
		}
		v = contract.StateView{}
		return ans.Get(&v) == nil && v.State == state
	}, time.Minute, 20*time.Millisecond, "%s never reached %s (last: %+v)", id, state, v)
	return v
}

// awaitEnd waits for the latest run of id to end and returns how.
func awaitEnd(t *testing.T, id string) client.Outcome {
	t.Helper()
	c, err := client.Dial(context.Background(), client.Config{Address: testserver.Address(t), Namespace: testserver.Namespace(t)})
	require.NoError(t, err)
	defer c.Close()
	o, err := c.Wait(context.Background(), id, "")
	require.NoError(t, err)
	return o
}

const holdYAML = `
workflow_id: hold
initial_step: begin
steps:
  - name: begin
    action: log
    params: {message: begun}
  - name: hold
    wait: {duration: 1h}
    next: end
  - name: end
    action: log
    params: {message: done}
`

// pause and resume answer whether the run took them: pausing a paused
// run, or resuming a running one, is refused with the run's reason.
func TestPauseAndResumeAnswer(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.Worker(t, queue)
	id, _ := startRun(t, definitionFile(t, holdYAML), queue)
	awaitState(t, id, statemachine.Waiting)

	code, out, errOut := starterOn(t, "resume", id)
	require.Equal(t, exitFailed, code, "resume of a running run: %s", out)
	require.Empty(t, out)
	require.Contains(t, errOut, "starter: workflow "+id+" refused resume: ")

	code, out, errOut = starterOn(t, "pause", id, "--reason", "lunch", "--who", "alice")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, id+" paused (resume returns to WAITING)\n", out)
	require.Empty(t, errOut)

	code, out, errOut = starterOn(t, "pause", id, "--reason", "again")
	require.Equal(t, exitFailed, code, out)
	require.Empty(t, out)
	require.Contains(t, errOut, "starter: workflow "+id+" refused pause: ")
	require.NotContains(t, errOut, "sent", "no signal is sent when the run refuses")

	code, out, errOut = starterOn(t, "resume", id, "--who", "bob", "--json")
	require.Equal(t, exitOK, code, errOut)
	var v updateView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, id, v.WorkflowID)
	require.Equal(t, contract.UpdateResume, v.Update)
	require.Equal(t, "bob", v.Who)
	var sv contract.StateView
	require.NoError(t, json.Unmarshal(v.Result, &sv))
	require.Equal(t, statemachine.Waiting, sv.State)

	code, _, errOut = starterOn(t, "resume", id)
	require.Equal(t, exitFailed, code)
	require.Contains(t, errOut, "refused resume: ")

	// The history says who paused and resumed.
	code, out, errOut = starterOn(t, "history", id, "--json", "--source", "temporal")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `"who": ?"alice"`, out)
	require.Regexp(t, `"who": ?"bob"`, out)
}

// A worker from before pause was an update gets the signal, with a
// warning that the run's answer cannot be known.
func TestPauseFallsBackToTheSignal(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.PreUpdateWorker(t, queue)
	id, _ := startRun(t, definitionFile(t, holdYAML), queue)

	code, out, errOut := starterOn(t, "pause", id, "--reason", "lunch", "--who", "carol")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, "sent pause to "+id+"\n", out)
	require.Contains(t, errOut, "starter: warning: the worker of "+id+" does not know the pause update (it is older than this starter): "+
		"sent the pause signal instead, so whether the run takes it cannot be known")

	o := awaitEnd(t, id)
	require.Equal(t, client.EndComplete, o.State)
	require.Equal(t, map[string]any{"reason": "lunch", "who": "carol"}, o.Result.Steps["pause"])
}

const countedGateYAML = `
workflow_id: gate
initial_step: first
steps:
  - name: first
    action: count
  - name: second
    action: count
  - name: check
    type: review
    review: {timeout: 1h}
    conditions: {success: note, failure: refused}
  - name: note
    action: log
    params: {message: approved}
  - name: refused
    type: fail
    error: refused by a person
`

func TestRollback(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	counter := testserver.CountingWorker(t, queue)
	id, _ := startRun(t, definitionFile(t, countedGateYAML), queue)
	awaitState(t, id, statemachine.Review)
	require.Equal(t, 1, counter.Calls("second"))

	code, out, errOut := starterOn(t, "rollback", id, "--steps", "1", "--reason", "redo it")
	require.Equal(t, exitOK, code, errOut)
	require.True(t, strings.HasPrefix(out, id+" rolled back 1 step"), out)

	require.Eventually(t, func() bool { return counter.Calls("second") == 2 }, time.Minute, 20*time.Millisecond)
	awaitState(t, id, statemachine.Review)
	require.Equal(t, 1, counter.Calls("first"), "only the step undone runs again")

	code, _, errOut = starterOn(t, "rollback", id, "--steps", "99")
	require.Equal(t, exitFailed, code)
	require.Contains(t, errOut, "refused rollback: ")
}

func TestSkip(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.CountingWorker(t, queue)
	id, _ := startRun(t, definitionFile(t, countedGateYAML), queue)
	awaitState(t, id, statemachine.Review)

	code, out, errOut := starterOn(t, "skip", id, "--reason", "approved on the phone", "--json")
	require.Equal(t, exitOK, code, errOut)
	var v updateView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, contract.UpdateSkip, v.Update)
	require.Equal(t, "approved on the phone", v.Reason)

	require.Equal(t, client.EndComplete, awaitEnd(t, id).State)
}

func TestTransition(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.CountingWorker(t, queue)
	id, _ := startRun(t, definitionFile(t, countedGateYAML), queue)
	awaitState(t, id, statemachine.Review)

	// The table refuses it: the run says why.
	code, out, errOut := starterOn(t, "transition", id, "--to", "initial")
	require.Equal(t, exitFailed, code, out)
	require.Contains(t, errOut, "refused transition: ")

	code, out, errOut = starterOn(t, "transition", id, "--to", "failed", "--reason", "the customer left")
	require.Equal(t, exitOK, code, errOut)
	require.True(t, strings.HasPrefix(out, id+" moved to FAILED"), out)
	require.Equal(t, client.EndFailed, awaitEnd(t, id).State)
}

func TestModify(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.CountingWorker(t, queue)
	id, _ := startRun(t, definitionFile(t, countedGateYAML), queue)
	awaitState(t, id, statemachine.Review)

	changed := strings.Replace(countedGateYAML, "params: {message: approved}", "params: {message: approved, and changed}", 1)
	file := definitionFile(t, changed)
	plan, v := loadPlan(file, definition.Options{})
	require.NotNil(t, plan, "%+v", v)

	code, out, errOut := starterOn(t, "modify", id, file, "--reason", "a better note")
	require.Equal(t, exitOK, code, errOut)
	require.True(t, strings.HasPrefix(out, id+" follows gate ("+client.ShortHash(plan.Hash)+") from now on"), out)

	state := awaitState(t, id, statemachine.Review)
	require.Equal(t, plan.Hash, state.PlanHash)

	code, _, errOut = starterOn(t, "approve", id)
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, client.EndComplete, awaitEnd(t, id).State)
}

const redriveYAML = `
workflow_id: redrive
initial_step: load
steps:
  - name: load
    action: count
  - name: check
    action: count
    params: {fail_unless: ok}
  - name: record
    action: count
`

// retry of a FAILED run with a corrected input starts at the step that
// failed, with the outputs of those that had succeeded, which do not run
// again.
func TestRetryAFailedRun(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	counter := testserver.CountingWorker(t, queue)
	file := definitionFile(t, redriveYAML)
	id := testserver.ID(t)
	code, _, errOut := starterOn(t, "run", file, "--task-queue", queue, "--id", id, "--input", `{"ok": false}`, "--wait")
	require.Equal(t, exitFailed, code, errOut)
	require.Equal(t, 1, counter.Calls("load"))
	require.Equal(t, 1, counter.Calls("check"))
	old, err := testserver.Client(t).DescribeWorkflowExecution(context.Background(), id, "")
	require.NoError(t, err)
	oldRun := old.GetWorkflowExecutionInfo().GetExecution().GetRunId()

	code, out, errOut := starterOn(t, "retry", id, "--input", `{"ok": true}`, "--reason", "fixed the input", "--wait", "--json")
	require.Equal(t, exitOK, code, "stdout: %s\nstderr: %s", out, errOut)
	var v startedView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, id, v.WorkflowID)
	require.NotEqual(t, oldRun, v.RunID)
	require.Equal(t, &retryView{WorkflowID: id, RunID: oldRun, State: client.EndFailed, From: "check", Carried: []string{"load"}}, v.Retry)
	require.NotNil(t, v.Outcome)
	require.Equal(t, client.EndComplete, v.Outcome.State)

	require.Equal(t, 1, counter.Calls("load"), "the step that had succeeded does not run again")
	require.Equal(t, 2, counter.Calls("check"))
	require.Equal(t, 1, counter.Calls("record"))

	// The new run names the run it continues, in its search attributes
	// and its input.
	d, err := testserver.Client(t).DescribeWorkflowExecution(context.Background(), id, v.RunID)
	require.NoError(t, err)
	var from string
	require.NoError(t, json.Unmarshal(d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[contract.RedrivenFromAttribute].GetData(), &from))
	require.Equal(t, oldRun, from)
	hist := testserver.Client(t).GetWorkflowHistory(context.Background(), id, v.RunID, false, 0)
	ev, err := hist.Next()
	require.NoError(t, err)
	var in workflows.Input
	require.NoError(t, json.Unmarshal(ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0].GetData(), &in))
	require.NotNil(t, in.Redrive)
	require.Equal(t, oldRun, in.Redrive.RunID)
	require.Equal(t, "check", in.Redrive.From)
	require.Equal(t, "fixed the input", in.Redrive.Reason)
	require.Equal(t, map[string]any{"ok": true}, in.Data)

	// A COMPLETE run is not retried.
	code, out, errOut = starterOn(t, "retry", id)
	require.Equal(t, exitFailed, code, out)
	require.Contains(t, errOut, "starter: the latest run of "+id+" is Completed: only a run that ended FAILED or CANCELLED can be retried")
}

// retry of a CANCELLED run starts again in the step it was cancelled in.
func TestRetryACancelledRun(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	counter := testserver.CountingWorker(t, queue)
	id, _ := startRun(t, definitionFile(t, countedGateYAML), queue)
	awaitState(t, id, statemachine.Review)
	code, _, errOut := starterOn(t, "cancel", id, "--reason", "wrong day")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, client.EndCancelled, awaitEnd(t, id).State)

	code, out, errOut := starterOn(t, "retry", id, "--who", "dave", "--id", id+"-again")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "started "+id+"-again\n")
	require.Regexp(t, `(?m)^  retries +run \S+ of `+regexp.QuoteMeta(id)+` \(CANCELLED\), from step check$`, out)
	require.Regexp(t, `(?m)^  carried +the outputs of first, second$`, out)

	awaitState(t, id+"-again", statemachine.Review)
	code, _, errOut = starterOn(t, "approve", id+"-again")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, client.EndComplete, awaitEnd(t, id+"-again").State)
	require.Equal(t, 1, counter.Calls("first"))
	require.Equal(t, 1, counter.Calls("second"))
}
