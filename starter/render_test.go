package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/statemachine"
)

var at = time.Date(2026, 11, 27, 17, 0, 0, 123e6, time.UTC)

func TestProgressLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		p    contract.Progress
		want string
	}{
		{"design example", contract.Progress{Status: "PROCESSING", CurrentSteps: []string{"process"}, ProgressPercentage: 30, CompletedSteps: 3, TotalSteps: 10},
			"PROCESSING 30% (3/10) steps: process"},
		{"parallel", contract.Progress{Status: "PROCESSING", CurrentSteps: []string{"ship", "invoice"}, ProgressPercentage: 50, CompletedSteps: 5, TotalSteps: 10},
			"PROCESSING 50% (5/10) steps: ship, invoice"},
		{"no steps", contract.Progress{Status: "COMPLETE", ProgressPercentage: 100, IsComplete: true, CompletedSteps: 10, TotalSteps: 10},
			"COMPLETE 100% (10/10)"},
		{"paused", contract.Progress{Status: "PAUSED", Paused: true, CurrentSteps: []string{"review"}, ProgressPercentage: 40, CompletedSteps: 4, TotalSteps: 10},
			"PAUSED 40% (4/10) steps: review"},
		{"failed", contract.Progress{Status: "FAILED", ProgressPercentage: 20, CompletedSteps: 2, TotalSteps: 10, Error: "step charge:\n  card declined"},
			"FAILED 20% (2/10) error: step charge: card declined"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, progressLine(tc.p), tc.name)
	}
}

func TestRenderHistory(t *testing.T) {
	t.Parallel()
	records := []statemachine.Record{
		{Seq: 1, From: statemachine.Initial, To: statemachine.Processing, Step: "validate", Event: statemachine.EventStart, At: at},
		{Seq: 2, From: statemachine.Processing, To: statemachine.Processing, Step: "validate", Event: statemachine.EventStepCompleted, At: at.Add(1500 * time.Millisecond)},
		{Seq: 3, From: statemachine.Processing, To: statemachine.Paused, Event: statemachine.EventPause, Reason: "maintenance\twindow", Who: "ana", At: at.Add(time.Minute)},
	}
	var buf bytes.Buffer
	require.NoError(t, renderHistory(&buf, records))
	want := strings.Join([]string{
		"SEQ  AT                        FROM→TO                STEP      EVENT           WHO  REASON",
		"1    2026-11-27T17:00:00.123Z  INITIAL→PROCESSING     validate  start           -    -",
		"2    2026-11-27T17:00:01.623Z  PROCESSING→PROCESSING  validate  step_completed  -    -",
		"3    2026-11-27T17:01:00.123Z  PROCESSING→PAUSED      -         pause           ana  maintenance window",
		"",
	}, "\n")
	require.Equal(t, want, buf.String())

	buf.Reset()
	require.NoError(t, renderHistory(&buf, nil))
	require.Equal(t, "no transitions yet\n", buf.String())
}

func TestRenderList(t *testing.T) {
	t.Parallel()
	rows := []listRow{
		listRowOf(client.Execution{WorkflowID: "order-42", RunID: "r1", Status: "Running", Start: at,
			State: "PROCESSING", Progress: 30, HasProgress: true, Definition: "complex-workflow"}),
		listRowOf(client.Execution{WorkflowID: "sequential-0a1b2c3d", RunID: "r2", Status: "Completed",
			Start: at.Add(-time.Hour), Close: at}),
	}
	var buf bytes.Buffer
	require.NoError(t, renderList(&buf, rows))
	want := strings.Join([]string{
		"WORKFLOW ID          STATUS     STATE       PROGRESS  DEFINITION        STARTED",
		"order-42             Running    PROCESSING  30%       complex-workflow  2026-11-27T17:00:00Z",
		"sequential-0a1b2c3d  Completed  -           -         -                 2026-11-27T16:00:00Z",
		"",
	}, "\n")
	require.Equal(t, want, buf.String())
	require.Nil(t, rows[0].ClosedAt)
	require.Equal(t, at, *rows[1].ClosedAt)
}

func TestRenderStatus(t *testing.T) {
	t.Parallel()
	d := &client.Description{WorkflowID: "order-42", RunID: "r1", TaskQueue: "statedriven", Status: "Running", Running: true,
		Start: at, State: "PROCESSING", Progress: 30, HasProgress: true, Definition: "complex-workflow", Summary: "Complex (sha256:3f2a9c1b7d4e)"}
	v := statusOf(d)
	v.applyState(contract.StateView{State: statemachine.Paused, Resumes: statemachine.Review, CurrentSteps: []string{"review"}})
	var buf bytes.Buffer
	require.NoError(t, renderStatus(&buf, v))
	want := strings.Join([]string{
		"workflow    order-42",
		"run         r1",
		"definition  complex-workflow",
		"summary     Complex (sha256:3f2a9c1b7d4e)",
		"state       PAUSED (resumes to REVIEW)",
		"steps       review",
		"progress    30%",
		"temporal    Running",
		"task queue  statedriven",
		"started     2026-11-27T17:00:00Z",
		"",
	}, "\n")
	require.Equal(t, want, buf.String())

	// Closed, no worker: the search attributes speak, and a note says so.
	d.Running, d.Status, d.Close, d.State = false, "Completed", at.Add(time.Minute), "COMPLETE"
	v = statusOf(d)
	v.Note = "no worker is polling task queue statedriven"
	buf.Reset()
	require.NoError(t, renderStatus(&buf, v))
	require.Contains(t, buf.String(), "state       COMPLETE (from search attributes)\n")
	require.Contains(t, buf.String(), "closed      2026-11-27T17:01:00Z\n")
	require.True(t, strings.HasSuffix(buf.String(), "note: no worker is polling task queue statedriven\n"))
	require.Equal(t, sourceSearchAttributes, v.Source)
}

// What status adds about a run that does not move, or has ended, as
// people read it.
func TestRenderStatusWhy(t *testing.T) {
	t.Parallel()
	d := &client.Description{WorkflowID: "order-42", RunID: "r1", TaskQueue: "statedriven", Status: "Running", Running: true, Start: at}
	v := statusOf(d)
	since := at.Add(time.Second)
	v.Stuck = &stuckView{Attempts: 4, Error: "panic: boom\n\tstack", Cause: "WorkflowWorkerUnhandledFailure", Worker: "123@host", Since: &since}
	v.Waiting = []waitView{{TaskQueue: "statedriven.validation_agent", Specialist: "validation_agent", Attempt: 2, ScheduledAt: at}}
	var buf bytes.Buffer
	require.NoError(t, renderStatus(&buf, v))
	require.Contains(t, buf.String(), strings.Join([]string{
		"stuck       the workflow task failed 4 times: panic: boom stack (WorkflowWorkerUnhandledFailure)",
		"worker      123@host",
		"since       2026-11-27T17:00:01Z",
		"waiting     a step waits on task queue statedriven.validation_agent, which no worker polls (since 2026-11-27T17:00:00Z, attempt 2): " +
			"start a worker for specialist validation_agent",
		"",
	}, "\n"))

	v = statusOf(d)
	v.Ended, v.Error = client.EndFailed, "step charge:\ndeclined"
	buf.Reset()
	require.NoError(t, renderStatus(&buf, v))
	require.Contains(t, buf.String(), "ended       FAILED\nerror       step charge: declined\n")
}

func TestRenderStartedAndOutcome(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, renderStarted(&buf, startedView{
		WorkflowID: "sequential-0a1b2c3d", RunID: "r1", Namespace: "default", TaskQueue: "statedriven",
		Definition: "sequential", Hash: "sha256:3f2a9c1b7d4e5f60718293a4",
		show: showCommand("sequential-0a1b2c3d", "", ""),
	}))
	want := strings.Join([]string{
		"started sequential-0a1b2c3d",
		"  run ID      r1",
		"  definition  sequential (sha256:3f2a9c1b7d4e)",
		"  task queue  statedriven",
		"  namespace   default",
		"  see it      temporal workflow show -w sequential-0a1b2c3d (or in the Web UI)",
		"",
	}, "\n")
	require.Equal(t, want, buf.String())

	buf.Reset()
	two := 2
	require.NoError(t, renderOutcome(&buf, outcomeView{WorkflowID: "order-42", State: "FAILED", CompletedSteps: &two, TotalSteps: 5,
		DurationMS: 12345, Error: "step charge: declined"}))
	want = strings.Join([]string{
		"order-42 ended FAILED",
		"  steps     2 of 5 completed",
		"  duration  12.35s",
		"  error     step charge: declined",
		"",
	}, "\n")
	require.Equal(t, want, buf.String())

	buf.Reset()
	require.NoError(t, renderOutcome(&buf, outcomeView{WorkflowID: "order-42", State: "COMPLETE", DurationMS: 61_000}))
	want = strings.Join([]string{
		"order-42 ended COMPLETE",
		"  steps     not known: no worker answered the progress query",
		"  duration  1m1s",
		"",
	}, "\n")
	require.Equal(t, want, buf.String())
}

func TestShowCommand(t *testing.T) {
	t.Parallel()
	require.Equal(t, "temporal workflow show -w order-42", showCommand("order-42", "", ""))
	require.Equal(t, "temporal workflow show -w 'my order' --address host:7233 -n orders", showCommand("my order", "host:7233", "orders"))
	require.Equal(t, `temporal workflow show -w 'it'\''s'`, showCommand("it's", "", ""))
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	require.Equal(t, "1.234s", formatDuration(1234400*time.Microsecond))
	require.Equal(t, "12.35s", formatDuration(12345*time.Millisecond))
	require.Equal(t, "3m4s", formatDuration(3*time.Minute+4400*time.Millisecond))
	require.Equal(t, "0s", formatDuration(0))
}
