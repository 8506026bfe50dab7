package statemachine_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sm "github.com/statedriven/statedriven/statemachine"
)

// t0 is the clock of every test: times are passed in, so tests pick them.
var t0 = time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)

// at returns t0 plus i seconds, so records get distinct, predictable times.
func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }

// newMachine builds a machine from cfg and fails the test on error.
func newMachine(t require.TestingT, cfg sm.Config) *sm.Machine {
	m, err := sm.New(cfg)
	require.NoError(t, err)
	return m
}

// pathTo lists, for every state, a legal path from INITIAL to it (written
// out rather than derived from the package), with one completed step along
// the way so that progress and checkpoints are not trivial.
var pathTo = map[sm.State][]sm.State{
	sm.Initial:    nil,
	sm.Processing: {sm.Processing},
	sm.Waiting:    {sm.Processing, sm.Waiting},
	sm.Review:     {sm.Processing, sm.Review},
	sm.Paused:     {sm.Processing, sm.Paused},
	sm.Complete:   {sm.Processing, sm.Complete},
	sm.Failed:     {sm.Processing, sm.Failed},
	sm.Cancelled:  {sm.Processing, sm.Cancelled},
}

// reach returns a machine in state s, reached through pathTo[s]; the first
// step ("fetch") is completed right after entering PROCESSING.
func reach(t *testing.T, s sm.State, cfg sm.Config) *sm.Machine {
	t.Helper()
	m := newMachine(t, cfg)
	for i, to := range pathTo[s] {
		_, err := m.Transition(to, sm.Cause{Step: "fetch", Event: sm.EventManual}, at(2*i))
		require.NoError(t, err)
		if to == sm.Processing {
			_, err := m.CompleteStep("fetch", 3, json.RawMessage(`{"n":1}`), at(2*i+1))
			require.NoError(t, err)
		}
	}
	require.Equal(t, s, m.State())
	return m
}

// requireUnchanged fails unless m is exactly as in before: a refused
// operation must not touch state, history, progress or checkpoints.
func requireUnchanged(t require.TestingT, before sm.Snapshot, m *sm.Machine) {
	require.Equal(t, before, m.Snapshot(), "a refused operation changed the machine")
}

// requireRefused checks the shape every refused move shares.
func requireRefused(t require.TestingT, err error, from, to sm.State) *sm.TransitionError {
	require.Error(t, err)
	require.ErrorIs(t, err, sm.ErrIllegalTransition)
	var te *sm.TransitionError
	require.ErrorAs(t, err, &te)
	require.Equal(t, from, te.From)
	require.Equal(t, to, te.To)
	return te
}
