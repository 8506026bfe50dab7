package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/starter/internal/testserver"
)

const customActionYAML = `
workflow_id: custom
initial_step: work
steps:
  - {name: work, action: custom_processing}
  - {name: check, action: validate, specialist: validation_agent}
`

// validate --actions checks the actions of the run's own queue against a
// list, offline: one located problem, with a "did you mean".
func TestValidateAgainstAnActionList(t *testing.T) {
	t.Parallel()
	file := definitionFile(t, strings.ReplaceAll(customActionYAML, "custom_processing", "custom_procesing"))
	list := filepath.Join(t.TempDir(), "actions.txt")
	require.NoError(t, os.WriteFile(list, []byte("# from starter actions\ncustom_processing\nlog\n"), 0o600))

	code, out, _ := runStarter(t, "validate", file)
	require.Equal(t, exitOK, code, "without a list, any action name is accepted: %s", out)

	code, out, _ = runStarter(t, "validate", "--actions", list, file)
	require.Equal(t, exitBadUsed, code)
	require.Contains(t, out, "1 problem")
	require.Contains(t, out, `/steps/0/action: no worker offers the action "custom_procesing" (did you mean "custom_processing"?)`)

	code, out, _ = runStarter(t, "validate", "--actions", list, definitionFile(t, customActionYAML))
	require.Equal(t, exitOK, code, out)
}

// run asks the queue's worker which actions it offers and refuses a plan
// naming another; actions prints what the worker offers; an older worker
// that cannot answer leaves a warning and the run starts.
func TestRunRefusesAnActionNoWorkerOffers(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.Worker(t, queue, "validation_agent")

	code, out, errOut := starterOn(t, "actions", "--task-queue", queue)
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, "aggregate\nhttp\nlog\ntransform\nvalidate\nwait\n", out)

	code, _, errOut = starterOn(t, "run", definitionFile(t, customActionYAML), "--task-queue", queue, "--id", testserver.ID(t))
	require.Equal(t, exitBadUsed, code)
	require.Contains(t, errOut, "no worker of "+queue+" offers what the plan runs there; nothing was started")
	require.Contains(t, errOut, `action "custom_processing" (step work)`)

	_, warnings := startRun(t, definitionFile(t, strings.ReplaceAll(customActionYAML, "custom_processing", "log")), queue)
	require.Empty(t, warnings, "built-ins need no question")

	older := testserver.Queue(t)
	testserver.OlderWorker(t, older)
	_, warnings = startRun(t, definitionFile(t, `
workflow_id: custom
initial_step: work
steps:
  - {name: work, action: custom_processing}
`), older)
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0], "could not check the plan's actions: no worker of "+older+" said which actions it offers")
}
