package statemachine_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	sm "github.com/statedriven/statedriven/statemachine"
)

// The operator's operations record who asked, and their dry runs (Check,
// CanRollback) answer what the operation would, changing nothing.
func TestOperatorOperationsRecordWho(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{TotalSteps: 3})
	_, err := m.Transition(sm.Processing, sm.Cause{Step: "a", Event: sm.EventStart}, at(1))
	require.NoError(t, err)
	_, err = m.CompleteStep("a", 2, nil, at(2))
	require.NoError(t, err)

	before := m.Snapshot()
	require.NoError(t, m.Check(sm.Paused, sm.Cause{Step: "a", Event: sm.EventPause}))
	require.NoError(t, m.CanRollback(1))
	require.ErrorIs(t, m.CanRollback(2), sm.ErrRollback)
	requireUnchanged(t, before, m)

	rec, err := m.PauseWith(sm.Cause{Reason: "lunch", Who: "ana"}, at(3))
	require.NoError(t, err)
	require.Equal(t, sm.Record{Seq: 3, From: sm.Processing, To: sm.Paused, Step: "a", Event: sm.EventPause, Reason: "lunch", Who: "ana", At: at(3)}, rec)

	before = m.Snapshot()
	requireRefused(t, m.Check(sm.Paused, sm.Cause{Step: "a", Event: sm.EventPause}), sm.Paused, sm.Paused)
	requireUnchanged(t, before, m)

	rec, err = m.Note(sm.Cause{Step: "a", Event: sm.EventModify, Reason: "plan x → y", Who: "bo"}, at(4))
	require.NoError(t, err)
	require.Equal(t, sm.Paused, rec.From)
	require.Equal(t, sm.Paused, rec.To)
	require.Equal(t, "bo", rec.Who)
	require.Equal(t, sm.Paused, m.State(), "a note does not move the run")

	cp, err := m.CompleteStepWith("b", 1, nil, sm.Cause{Event: sm.EventSkip, Reason: "done by hand", Who: "cy"}, at(5))
	require.NoError(t, err)
	require.Equal(t, 2, cp.Completed)
	last, _ := m.Last()
	require.Equal(t, sm.EventSkip, last.Event)
	require.Equal(t, "b", last.Step)
	require.Equal(t, "cy", last.Who)

	target, err := m.RollbackWith(2, sm.Cause{Reason: "bad input", Who: "dee"}, at(6))
	require.NoError(t, err)
	require.Equal(t, 0, target.Completed)
	last, _ = m.Last()
	require.Equal(t, "dee", last.Who)
	require.Equal(t, sm.Paused, m.State())
	require.Equal(t, sm.Processing, m.Resumes())

	_, err = m.ResumeWith(sm.Cause{Who: "ed"}, at(7))
	require.NoError(t, err)
	_, err = m.CancelWith(sm.Cause{Reason: "stop", Who: "fay"}, at(8))
	require.NoError(t, err)
	last, _ = m.Last()
	require.Equal(t, "fay", last.Who)

	before = m.Snapshot()
	_, err = m.Note(sm.Cause{Event: sm.EventRefused}, at(9))
	var te *sm.TransitionError
	require.True(t, errors.As(err, &te), "a finished run's history is final")
	requireUnchanged(t, before, m)
}
