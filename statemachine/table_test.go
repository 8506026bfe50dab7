package statemachine_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	sm "github.com/statedriven/statedriven/statemachine"
)

// The reasons, spelled out here independently of the package.
const (
	whyInitial      = "INITIAL is only the starting state"
	whyUnrun        = "a run completes only after it has run a step"
	whyPaused       = "the run is already paused"
	whyPausedFinish = "a paused run must resume before it completes"
	whyResumeProc   = "resume returns to PROCESSING, the state the run was paused in"
	whyComplete     = "COMPLETE is terminal: a finished run does not change state"
	whyFailed       = "FAILED is terminal: a finished run does not change state"
	whyCancelled    = "CANCELLED is terminal: a finished run does not change state"
)

// TestEveryPair tries all 64 (from, to) pairs. The expected outcome is
// written out for each pair, not derived from the package's table. Every
// move names a step, so self-moves pass their guard; the PAUSED machine was
// paused in PROCESSING, so only PROCESSING is a legal resume.
func TestEveryPair(t *testing.T) {
	t.Parallel()
	ok := ""
	tests := []struct {
		from, to sm.State
		why      string // ok ("") when the move is allowed
	}{
		{sm.Initial, sm.Initial, whyInitial},
		{sm.Initial, sm.Processing, ok},
		{sm.Initial, sm.Waiting, ok},
		{sm.Initial, sm.Review, ok},
		{sm.Initial, sm.Paused, ok},
		{sm.Initial, sm.Complete, whyUnrun},
		{sm.Initial, sm.Failed, ok},
		{sm.Initial, sm.Cancelled, ok},

		{sm.Processing, sm.Initial, whyInitial},
		{sm.Processing, sm.Processing, ok},
		{sm.Processing, sm.Waiting, ok},
		{sm.Processing, sm.Review, ok},
		{sm.Processing, sm.Paused, ok},
		{sm.Processing, sm.Complete, ok},
		{sm.Processing, sm.Failed, ok},
		{sm.Processing, sm.Cancelled, ok},

		{sm.Waiting, sm.Initial, whyInitial},
		{sm.Waiting, sm.Processing, ok},
		{sm.Waiting, sm.Waiting, ok},
		{sm.Waiting, sm.Review, ok},
		{sm.Waiting, sm.Paused, ok},
		{sm.Waiting, sm.Complete, ok},
		{sm.Waiting, sm.Failed, ok},
		{sm.Waiting, sm.Cancelled, ok},

		{sm.Review, sm.Initial, whyInitial},
		{sm.Review, sm.Processing, ok},
		{sm.Review, sm.Waiting, ok},
		{sm.Review, sm.Review, ok},
		{sm.Review, sm.Paused, ok},
		{sm.Review, sm.Complete, ok},
		{sm.Review, sm.Failed, ok},
		{sm.Review, sm.Cancelled, ok},

		{sm.Paused, sm.Initial, whyResumeProc},
		{sm.Paused, sm.Processing, ok},
		{sm.Paused, sm.Waiting, whyResumeProc},
		{sm.Paused, sm.Review, whyResumeProc},
		{sm.Paused, sm.Paused, whyPaused},
		{sm.Paused, sm.Complete, whyPausedFinish},
		{sm.Paused, sm.Failed, ok},
		{sm.Paused, sm.Cancelled, ok},

		{sm.Complete, sm.Initial, whyComplete},
		{sm.Complete, sm.Processing, whyComplete},
		{sm.Complete, sm.Waiting, whyComplete},
		{sm.Complete, sm.Review, whyComplete},
		{sm.Complete, sm.Paused, whyComplete},
		{sm.Complete, sm.Complete, whyComplete},
		{sm.Complete, sm.Failed, whyComplete},
		{sm.Complete, sm.Cancelled, whyComplete},

		{sm.Failed, sm.Initial, whyFailed},
		{sm.Failed, sm.Processing, whyFailed},
		{sm.Failed, sm.Waiting, whyFailed},
		{sm.Failed, sm.Review, whyFailed},
		{sm.Failed, sm.Paused, whyFailed},
		{sm.Failed, sm.Complete, whyFailed},
		{sm.Failed, sm.Failed, whyFailed},
		{sm.Failed, sm.Cancelled, whyFailed},

		{sm.Cancelled, sm.Initial, whyCancelled},
		{sm.Cancelled, sm.Processing, whyCancelled},
		{sm.Cancelled, sm.Waiting, whyCancelled},
		{sm.Cancelled, sm.Review, whyCancelled},
		{sm.Cancelled, sm.Paused, whyCancelled},
		{sm.Cancelled, sm.Complete, whyCancelled},
		{sm.Cancelled, sm.Failed, whyCancelled},
		{sm.Cancelled, sm.Cancelled, whyCancelled},
	}
	require.Len(t, tests, 64)
	seen := make(map[[2]sm.State]bool)
	for _, tt := range tests {
		seen[[2]sm.State{tt.from, tt.to}] = true
		t.Run(tt.from.String()+"→"+tt.to.String(), func(t *testing.T) {
			t.Parallel()
			m := reach(t, tt.from, sm.Config{})
			before := m.Snapshot()
			cause := sm.Cause{Step: "next", Event: sm.EventManual, Reason: "test"}

			rec, err := m.Transition(tt.to, cause, at(100))

			if tt.why != ok {
				te := requireRefused(t, err, tt.from, tt.to)
				require.Equal(t, tt.why, te.Why)
				require.Empty(t, te.Guard)
				require.Equal(t, sm.EventManual, te.Event)
				require.Equal(t, fmt.Sprintf("illegal transition %s → %s: %s", tt.from, tt.to, tt.why), err.Error())
				require.Zero(t, rec)
				requireUnchanged(t, before, m)
				return
			}
			require.NoError(t, err)
			want := sm.Record{
				Seq: uint64(len(before.History)) + 1, From: tt.from, To: tt.to,
				Step: "next", Event: sm.EventManual, Reason: "test", At: at(100),
			}
			require.Equal(t, want, rec)
			require.Equal(t, tt.to, m.State())
			require.Equal(t, len(before.History)+1, m.Len())
			last, ok := m.Last()
			require.True(t, ok)
			require.Equal(t, want, last)
			require.Equal(t, before.Completed, m.Snapshot().Completed, "a move does not complete steps")
		})
	}
	require.Len(t, seen, 64, "every pair appears exactly once")
}

// TestTargetNotAState checks that a corrupt target is refused, not a panic.
func TestTargetNotAState(t *testing.T) {
	t.Parallel()
	m := reach(t, sm.Processing, sm.Config{})
	before := m.Snapshot()
	_, err := m.Transition(sm.State(8), sm.Cause{Step: "x"}, at(9))
	te := requireRefused(t, err, sm.Processing, sm.State(8))
	require.Equal(t, "State(8) is not a state", te.Why)
	requireUnchanged(t, before, m)
}

func TestSelfMoveNeedsStep(t *testing.T) {
	t.Parallel()
	for _, s := range []sm.State{sm.Processing, sm.Waiting, sm.Review} {
		t.Run(s.String(), func(t *testing.T) {
			t.Parallel()
			m := reach(t, s, sm.Config{})
			before := m.Snapshot()
			_, err := m.Transition(s, sm.Cause{Event: sm.EventStep}, at(50))
			te := requireRefused(t, err, s, s)
			require.Equal(t, "a move within "+s.String()+" must name the step it moves to", te.Why)
			requireUnchanged(t, before, m)

			rec, err := m.Transition(s, sm.Cause{Step: "next", Event: sm.EventStep}, at(51))
			require.NoError(t, err)
			require.Equal(t, "next", rec.Step)
			require.Equal(t, "next", m.Step())
		})
	}
}

func TestResumeReturnsToRememberedState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pausedIn sm.State
		refused  []sm.State // non-terminal targets a resume may not take
	}{
		{sm.Initial, []sm.State{sm.Processing, sm.Waiting, sm.Review}},
		{sm.Processing, []sm.State{sm.Initial, sm.Waiting, sm.Review}},
		{sm.Waiting, []sm.State{sm.Initial, sm.Processing, sm.Review}},
		{sm.Review, []sm.State{sm.Initial, sm.Processing, sm.Waiting}},
	}
	for _, tt := range tests {
		t.Run(tt.pausedIn.String(), func(t *testing.T) {
			t.Parallel()
			m := reach(t, tt.pausedIn, sm.Config{})
			require.Equal(t, tt.pausedIn, m.Resumes(), "outside PAUSED, Resumes is the state itself")
			_, err := m.Pause("lunch", at(60))
			require.NoError(t, err)
			require.Equal(t, sm.Paused, m.State())
			require.Equal(t, tt.pausedIn, m.Resumes())

			before := m.Snapshot()
			for _, to := range tt.refused {
				_, err := m.Transition(to, sm.Cause{Step: "x", Event: sm.EventResume}, at(61))
				te := requireRefused(t, err, sm.Paused, to)
				require.Equal(t, fmt.Sprintf("resume returns to %s, the state the run was paused in", tt.pausedIn), te.Why)
				requireUnchanged(t, before, m)
			}

			rec, err := m.Resume("back", at(62))
			require.NoError(t, err)
			require.Equal(t, sm.Record{
				Seq: rec.Seq, From: sm.Paused, To: tt.pausedIn, Step: before.History[len(before.History)-1].Step,
				Event: sm.EventResume, Reason: "back", At: at(62),
			}, rec)
			require.Equal(t, tt.pausedIn, m.State())
		})
	}
}

func TestPausedRunMayStillStop(t *testing.T) {
	t.Parallel()
	m := reach(t, sm.Review, sm.Config{})
	_, err := m.Pause("", at(10))
	require.NoError(t, err)
	rec, err := m.Fail("", "disk full", at(11))
	require.NoError(t, err)
	require.Equal(t, sm.Failed, m.State())
	require.Equal(t, "fetch", rec.Step, "an empty step means the current one")

	m = reach(t, sm.Waiting, sm.Config{})
	_, err = m.Pause("", at(10))
	require.NoError(t, err)
	_, err = m.Cancel("no longer needed", at(11))
	require.NoError(t, err)
	require.Equal(t, sm.Cancelled, m.State())
}

func TestResumeOutsidePaused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state sm.State
		why   string
	}{
		{sm.Initial, "INITIAL is not paused: only a paused run resumes"},
		{sm.Processing, "PROCESSING is not paused: only a paused run resumes"},
		{sm.Review, "REVIEW is not paused: only a paused run resumes"},
		{sm.Complete, whyComplete},
		{sm.Cancelled, whyCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.state.String(), func(t *testing.T) {
			t.Parallel()
			m := reach(t, tt.state, sm.Config{})
			before := m.Snapshot()
			_, err := m.Resume("", at(70))
			te := requireRefused(t, err, tt.state, tt.state)
			require.Equal(t, tt.why, te.Why)
			require.Equal(t, sm.EventResume, te.Event)
			requireUnchanged(t, before, m)
		})
	}
}

var errBudget = errors.New("budget spent")

func TestUserGuard(t *testing.T) {
	t.Parallel()
	var seen []sm.Cause
	var seenState []sm.State
	cfg := sm.Config{Guards: []sm.Guard{
		{Name: "audit", From: sm.Processing, To: sm.Complete, Check: func(m *sm.Machine, c sm.Cause) error {
			seen = append(seen, c)
			seenState = append(seenState, m.State())
			return nil
		}},
		{Name: "budget", From: sm.Processing, To: sm.Complete, Check: func(*sm.Machine, sm.Cause) error { return errBudget }},
		{Name: "never-reached", From: sm.Processing, To: sm.Complete, Check: func(*sm.Machine, sm.Cause) error {
			panic("a later guard ran after a refusal")
		}},
	}}
	m := reach(t, sm.Processing, cfg)
	before := m.Snapshot()

	_, err := m.Complete(at(80))

	te := requireRefused(t, err, sm.Processing, sm.Complete)
	require.Equal(t, "budget", te.Guard)
	require.ErrorIs(t, err, errBudget, "the guard's own error stays reachable")
	require.Equal(t, `illegal transition PROCESSING → COMPLETE: refused by guard "budget": budget spent`, err.Error())
	require.Equal(t, []sm.Cause{{Step: "fetch", Event: sm.EventComplete}}, seen, "guards see the cause")
	require.Equal(t, []sm.State{sm.Processing}, seenState, "guards see the machine before the move")
	requireUnchanged(t, before, m)

	// Guards watch one pair only: other moves are not affected.
	_, err = m.Transition(sm.Waiting, sm.Cause{Step: "wait"}, at(81))
	require.NoError(t, err)
	_, err = m.Complete(at(82))
	require.NoError(t, err, "the guard is on PROCESSING → COMPLETE, not WAITING → COMPLETE")
}

func TestBuiltinRulesRunBeforeUserGuards(t *testing.T) {
	t.Parallel()
	called := false
	m := reach(t, sm.Processing, sm.Config{Guards: []sm.Guard{{
		Name: "spy", From: sm.Processing, To: sm.Processing,
		Check: func(*sm.Machine, sm.Cause) error { called = true; return nil },
	}}})
	_, err := m.Transition(sm.Processing, sm.Cause{}, at(5))
	te := requireRefused(t, err, sm.Processing, sm.Processing)
	require.Empty(t, te.Guard)
	require.False(t, called)

	_, err = m.Transition(sm.Processing, sm.Cause{Step: "b"}, at(6))
	require.NoError(t, err)
	require.True(t, called)
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	check := func(*sm.Machine, sm.Cause) error { return nil }
	hook := func(sm.Record) {}
	tests := []struct {
		name string
		cfg  sm.Config
		want []string // every fragment must appear in the error
	}{
		{"negative total", sm.Config{TotalSteps: -1}, []string{"TotalSteps is -1: it must be 0 or more"}},
		{"nil check", sm.Config{Guards: []sm.Guard{{Name: "g", From: sm.Processing, To: sm.Waiting}}},
			[]string{`Guards[0] "g": Check is nil`}},
		{"no name", sm.Config{Guards: []sm.Guard{{From: sm.Processing, To: sm.Waiting, Check: check}}},
			[]string{`Guards[0] "": the name is empty`}},
		{"duplicate name", sm.Config{Guards: []sm.Guard{
			{Name: "g", From: sm.Processing, To: sm.Waiting, Check: check},
			{Name: "g", From: sm.Waiting, To: sm.Processing, Check: check},
		}}, []string{`Guards[1] "g": the name is already used by Guards[0]`}},
		{"refused pair", sm.Config{Guards: []sm.Guard{{Name: "revive", From: sm.Complete, To: sm.Processing, Check: check}}},
			[]string{`Guards[0] "revive": the table never allows COMPLETE → PROCESSING (` + whyComplete + `), so the guard could never run`}},
		{"paused twice", sm.Config{Guards: []sm.Guard{{Name: "p", From: sm.Paused, To: sm.Paused, Check: check}}},
			[]string{`the table never allows PAUSED → PAUSED`}},
		{"not a state", sm.Config{Guards: []sm.Guard{{Name: "x", From: sm.Processing, To: sm.State(12), Check: check}}},
			[]string{`Guards[0] "x": PROCESSING → State(12) is not a pair of states`}},
		{"hook for no state", sm.Config{OnEnter: map[sm.State]func(sm.Record){sm.State(30): hook, sm.State(9): hook}},
			[]string{"OnEnter has a hook for State(9), which is not a state; OnEnter has a hook for State(30)"}},
		{"all at once", sm.Config{
			TotalSteps: -3,
			Guards:     []sm.Guard{{Name: "a", From: sm.Failed, To: sm.Failed}},
			OnExit:     map[sm.State]func(sm.Record){sm.State(8): hook},
		}, []string{"TotalSteps is -3", `Guards[0] "a": Check is nil`, `the table never allows FAILED → FAILED`, "OnExit has a hook for State(8)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := sm.New(tt.cfg)
			require.Nil(t, m)
			require.Error(t, err)
			require.Contains(t, err.Error(), "statemachine: invalid config: ")
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			_, err = sm.Restore(newMachine(t, sm.Config{}).Snapshot(), tt.cfg)
			require.Error(t, err, "Restore checks the config too")
		})
	}

	// A guard on an allowed pair, including the resume pair PAUSED →
	// INITIAL, is fine.
	_, err := sm.New(sm.Config{TotalSteps: 5, Guards: []sm.Guard{
		{Name: "a", From: sm.Paused, To: sm.Initial, Check: check},
		{Name: "b", From: sm.Review, To: sm.Processing, Check: check},
	}, OnEnter: map[sm.State]func(sm.Record){sm.Review: hook}})
	require.NoError(t, err)
}
