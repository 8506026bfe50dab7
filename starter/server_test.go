package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/starter/internal/testserver"
)

// These tests run the starter's verbs against the in-process Temporal
// server, as a user would run them against theirs.

// starterOn runs the starter against the in-process server.
func starterOn(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runStarter(t, append(args, "--address", testserver.Address(t), "--namespace", testserver.Namespace(t))...)
}

// definitionFile writes a definition to a file of the test's own.
func definitionFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "definition.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// startRun runs `starter run --json` and returns the workflow ID and what
// it warned of.
func startRun(t *testing.T, file, queue string, extra ...string) (id string, warnings []string) {
	t.Helper()
	code, out, errOut := starterOn(t, append([]string{"run", file, "--json", "--task-queue", queue, "--id", testserver.ID(t)}, extra...)...)
	require.Equal(t, exitOK, code, "stderr: %s", errOut)
	var v startedView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	return v.WorkflowID, v.Warnings
}

const gateYAML = `
workflow_id: gate
initial_step: check
steps:
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

// A run whose worker fails every workflow task: status shows the worker's
// error, cancel says it cannot reach the run and names the way out, and
// --terminate takes it.
func TestStuckRunIsVisibleAndStoppable(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.BrokenWorker(t, queue, "the worker is broken")
	id, _ := startRun(t, definitionFile(t, gateYAML), queue)

	var out string
	require.Eventually(t, func() bool {
		var code int
		code, out, _ = starterOn(t, "status", id)
		return code == exitOK && regexp.MustCompile(`(?m)^stuck `).MatchString(out)
	}, time.Minute, 50*time.Millisecond)
	require.Regexp(t, `(?m)^stuck +the workflow task failed( \d+ times)?: .*the worker is broken.* \(WorkflowWorkerUnhandledFailure\)$`, out)
	require.Contains(t, out, "note: the worker fails this run's workflow task, so the run makes no progress and reads no signal (cancel included); "+
		"fix the worker and the run goes on, or end it with starter cancel "+id+" --terminate")
	require.NotContains(t, out, "query")

	code, jsonOut, _ := starterOn(t, "status", id, "--json")
	require.Equal(t, exitOK, code)
	var v statusView
	require.NoError(t, json.Unmarshal([]byte(jsonOut), &v))
	require.NotNil(t, v.Stuck)
	require.Contains(t, v.Stuck.Error, "the worker is broken")
	require.GreaterOrEqual(t, v.Stuck.Attempts, 1)

	// approve warns, then waits for an update the run cannot handle
	// until interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var approveOut, approveErr lockedBuffer
	approved := make(chan int, 1)
	go func() {
		approved <- run(ctx, []string{"approve", id, "--address", testserver.Address(t), "--namespace", testserver.Namespace(t)}, &approveOut, &approveErr)
	}()
	warning := "starter: the worker fails this run's workflow task (starter status " + id +
		" shows its error): the approve waits until the worker is fixed (press Ctrl-C)\n"
	require.Eventually(t, func() bool { return strings.Contains(approveErr.String(), warning) }, time.Minute, 20*time.Millisecond)
	cancel()
	require.Equal(t, exitFailed, <-approved)

	code, out, errOut := starterOn(t, "cancel", id, "--reason", "give up")
	require.Equal(t, exitFailed, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "starter: cancel cannot reach "+id+": its worker fails every workflow task (")
	require.Contains(t, errOut, "the worker is broken")
	require.Contains(t, errOut, "nothing was sent. Fix the worker and cancel again, or end the run now with starter cancel "+id+
		" --terminate (as temporal workflow terminate -w "+id+" does: no compensation runs, and it ends TERMINATED)")

	code, out, errOut = starterOn(t, "cancel", id, "--terminate", "--reason", "give up")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, "terminated "+id+"\n", out)
	code, out, _ = starterOn(t, "status", id)
	require.Equal(t, exitOK, code)
	require.Regexp(t, `(?m)^ended +TERMINATED$`, out)
	require.Regexp(t, `(?m)^error +terminated: give up$`, out)
}

// watch of a stuck run says it is stuck, with the worker's error.
func TestWatchSaysARunIsStuck(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.BrokenWorker(t, queue, "the worker is broken")
	id, _ := startRun(t, definitionFile(t, gateYAML), queue)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := client.Dial(ctx, client.Config{Address: testserver.Address(t), Namespace: testserver.Namespace(t)})
	require.NoError(t, err)
	defer c.Close()
	d := &recorder{}
	ended := make(chan followed, 1)
	go func() { ended <- follow(ctx, c, id, queue, make(chan waited), d, defaultTiming) }()
	said := regexp.MustCompile(`^say the run is stuck, its worker fails its workflow task: .*the worker is broken.*; ` +
		`it makes no progress until the worker is fixed \(starter cancel ` + regexp.QuoteMeta(id) + ` --terminate ends it\): waiting$`)
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return slices.ContainsFunc(d.events, said.MatchString)
	}, time.Minute, 20*time.Millisecond)
	cancel()
	<-ended
	for _, e := range d.events {
		require.NotContains(t, e, "no worker answers", "the run has a worker; it fails")
	}
}

// A step routed to a specialist no worker serves: run warns at once and
// starts anyway, and status names the queue the step waits on.
func TestRunAndStatusNameAQueueNobodyPolls(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.Worker(t, queue)
	file := definitionFile(t, `
workflow_id: lonely
initial_step: check
steps:
  - name: check
    action: log
    specialist: validation_agent
    params: {message: hello}
`)
	code, out, errOut := starterOn(t, "run", file, "--task-queue", queue, "--id", testserver.ID(t))
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, "starter: no worker polls "+queue+".validation_agent; step check will wait until one does\n", errOut)
	require.Contains(t, out, "started ")

	id, warnings := startRun(t, file, queue)
	require.Equal(t, []string{"no worker polls " + queue + ".validation_agent; step check will wait until one does"}, warnings)
	require.Eventually(t, func() bool {
		code, out, _ = starterOn(t, "status", id)
		return code == exitOK && regexp.MustCompile(`(?m)^waiting `).MatchString(out)
	}, time.Minute, 50*time.Millisecond)
	require.Regexp(t, `(?m)^waiting +a step waits on task queue `+regexp.QuoteMeta(queue)+`\.validation_agent, which no worker polls `+
		`\(since [0-9TZ:-]+\): start a worker for specialist validation_agent$`, out)
	require.Regexp(t, `(?m)^steps +check$`, out)

	noWorker := testserver.Queue(t)
	_, warnings = startRun(t, file, noWorker)
	require.Equal(t, []string{"no worker polls " + noWorker + "; the run will wait until one does (start one with make run)",
		"no worker polls " + noWorker + ".validation_agent; step check will wait until one does"}, warnings)
}

// status of a FAILED run says how it ended and why.
func TestStatusOfAFailedRun(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.Worker(t, queue)
	file := definitionFile(t, `
workflow_id: doomed
initial_step: refuse
steps:
  - name: refuse
    type: fail
    error: the order was refused
`)
	id := testserver.ID(t)
	code, _, errOut := starterOn(t, "run", file, "--task-queue", queue, "--id", id, "--wait")
	require.Equal(t, exitFailed, code, errOut)

	code, out, _ := starterOn(t, "status", id)
	require.Equal(t, exitOK, code)
	require.Regexp(t, `(?m)^ended +FAILED$`, out)
	require.Regexp(t, `(?m)^error +.*the order was refused`, out)

	code, out, _ = starterOn(t, "status", id, "--json")
	require.Equal(t, exitOK, code)
	var v statusView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, "FAILED", v.Ended)
	require.Contains(t, v.Error, "the order was refused")
}

// lockedBuffer is a buffer a command writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
