package statemachine_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	sm "github.com/statedriven/statedriven/statemachine"
)

func TestCheckpointsAndRollback(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{TotalSteps: 4})
	move := func(to sm.State, step string, i int) {
		t.Helper()
		_, err := m.Transition(to, sm.Cause{Step: step, Event: sm.EventStep}, at(i))
		require.NoError(t, err)
	}
	done := func(step string, remaining int, data string, i int) sm.Checkpoint {
		t.Helper()
		cp, err := m.CompleteStep(step, remaining, json.RawMessage(data), at(i))
		require.NoError(t, err)
		return cp
	}

	move(sm.Processing, "validate", 1)                 // seq 1
	cp1 := done("validate", 3, `{ "n" : 1 }`, 2)       // seq 2
	move(sm.Processing, "transform", 3)                // seq 3
	cp2 := done("transform", 2, `{"n":2}`, 4)          // seq 4
	move(sm.Waiting, "wait", 5)                        // seq 5
	cp3 := done("wait", 1, `{"n":3,"html":"<b>&"}`, 6) // seq 6

	require.Equal(t, sm.Checkpoint{Seq: 2, Step: "validate", Completed: 1, Progress: 25, Data: json.RawMessage(`{"n":1}`), At: at(2)}, cp1,
		"data is stored compact")
	require.Equal(t, sm.Checkpoint{Seq: 4, Step: "transform", Completed: 2, Progress: 50, Data: json.RawMessage(`{"n":2}`), At: at(4)}, cp2)
	require.Equal(t, sm.Checkpoint{Seq: 6, Step: "wait", Completed: 3, Progress: 75, Data: json.RawMessage(`{"n":3,"html":"\u003cb\u003e\u0026"}`), At: at(6)}, cp3,
		"data is stored the way encoding/json writes it")
	require.Equal(t, sm.Record{Seq: 6, From: sm.Waiting, To: sm.Waiting, Step: "wait", Event: sm.EventStepCompleted, At: at(6)}, m.History()[5])
	require.Equal(t, []sm.Checkpoint{{}, cp1, cp2, cp3}, m.Checkpoints())
	require.Equal(t, []string{"validate", "transform", "wait"}, m.Completed())
	require.Equal(t, 4, m.Total())

	// Roll back two steps from WAITING: back to the checkpoint after "validate".
	got, err := m.Rollback(2, "", at(7))
	require.NoError(t, err)
	require.Equal(t, cp1, got)
	require.Equal(t, sm.Processing, m.State())
	require.Equal(t, 25, m.Progress())
	require.Equal(t, 4, m.Total(), "the run's length did not change")
	require.Equal(t, []string{"validate"}, m.Completed())
	require.Equal(t, 1, m.CompletedCount())
	require.Equal(t, []sm.Checkpoint{{}, cp1}, m.Checkpoints())
	require.Equal(t, 7, m.Len(), "history is never truncated")
	last, _ := m.Last()
	require.Equal(t, sm.Record{Seq: 7, From: sm.Waiting, To: sm.Processing, Step: "validate", Event: sm.EventRollback,
		Reason: `rolled back 2 step(s) to the checkpoint after "validate"`, At: at(7)}, last)
	require.Equal(t, "validate", m.Step())

	// Redo one step, then roll everything back to the start.
	cp2b := done("transform", 2, `{"n":22}`, 8) // seq 8
	require.Equal(t, sm.Checkpoint{Seq: 8, Step: "transform", Completed: 2, Progress: 50, Data: json.RawMessage(`{"n":22}`), At: at(8)}, cp2b)
	got, err = m.Rollback(2, "operator asked", at(9))
	require.NoError(t, err)
	require.Equal(t, sm.Checkpoint{}, got, "checkpoint 0 is the start")
	require.Equal(t, 0, m.Progress())
	require.Empty(t, m.Completed())
	require.Equal(t, []sm.Checkpoint{{}}, m.Checkpoints())
	last, _ = m.Last()
	require.Equal(t, sm.Record{Seq: 9, From: sm.Processing, To: sm.Processing, Step: "", Event: sm.EventRollback,
		Reason: "operator asked", At: at(9)}, last)

	_, err = m.Rollback(1, "", at(10))
	require.ErrorIs(t, err, sm.ErrRollback)
	require.EqualError(t, err, "rollback refused: nothing to roll back: no step has completed yet")
}

func TestDefaultRollbackReasonToStart(t *testing.T) {
	t.Parallel()
	m := reach(t, sm.Review, sm.Config{})
	_, err := m.Rollback(1, "", at(9))
	require.NoError(t, err)
	last, _ := m.Last()
	require.Equal(t, "rolled back 1 step(s) to the start", last.Reason)
	require.Equal(t, sm.Review, last.From)
	require.Equal(t, sm.Processing, last.To)
}

func TestRollbackWhilePaused(t *testing.T) {
	t.Parallel()
	m := reach(t, sm.Review, sm.Config{}) // "fetch" completed, progress 25
	_, err := m.Pause("", at(10))
	require.NoError(t, err)
	require.Equal(t, sm.Review, m.Resumes())

	cp, err := m.CompleteStep("late", 2, nil, at(11))
	require.NoError(t, err, "an activity started before the pause may finish while paused")
	require.Equal(t, sm.Checkpoint{Seq: 5, Step: "late", Completed: 2, Progress: 50, At: at(11)}, cp)
	require.Equal(t, sm.Record{Seq: 5, From: sm.Paused, To: sm.Paused, Step: "late", Event: sm.EventStepCompleted, At: at(11)}, m.History()[4])

	got, err := m.Rollback(1, "", at(12))
	require.NoError(t, err)
	require.Equal(t, "fetch", got.Step)
	require.Equal(t, `{"n":1}`, string(got.Data))
	require.Equal(t, sm.Paused, m.State(), "a paused run stays paused")
	require.Equal(t, sm.Processing, m.Resumes(), "and will resume to redo the work")
	require.Equal(t, 25, m.Progress())
	last, _ := m.Last()
	require.Equal(t, sm.Record{Seq: 6, From: sm.Paused, To: sm.Paused, Step: "fetch", Event: sm.EventRollback,
		Reason: `rolled back 1 step(s) to the checkpoint after "fetch"`, At: at(12)}, last)

	rec, err := m.Resume("", at(13))
	require.NoError(t, err)
	require.Equal(t, sm.Processing, rec.To)
}

func TestRollbackRefused(t *testing.T) {
	t.Parallel()
	errNo := errors.New("no rollbacks after review")
	tests := []struct {
		name     string
		setup    func(t *testing.T) *sm.Machine
		n        int
		msg      string
		illegal  bool // also a *TransitionError matching ErrIllegalTransition
		from, to sm.State
	}{
		{name: "n is zero", setup: twoDone, n: 0, msg: "rollback refused: the number of steps must be at least 1, got 0"},
		{name: "n is negative", setup: twoDone, n: -2, msg: "rollback refused: the number of steps must be at least 1, got -2"},
		{name: "n above completed", setup: twoDone, n: 3, msg: "rollback refused: cannot roll back 3 step(s): only 2 completed"},
		{name: "nothing completed", setup: func(t *testing.T) *sm.Machine {
			m := newMachine(t, sm.Config{})
			_, err := m.Transition(sm.Waiting, sm.Cause{Step: "w"}, at(1))
			require.NoError(t, err)
			return m
		}, n: 1, msg: "rollback refused: nothing to roll back: no step has completed yet"},
		{name: "INITIAL", setup: func(t *testing.T) *sm.Machine { return newMachine(t, sm.Config{}) }, n: 1,
			msg:     "illegal transition INITIAL → PROCESSING: nothing to roll back: no step has started",
			illegal: true, from: sm.Initial, to: sm.Processing},
		{name: "paused before it started", setup: func(t *testing.T) *sm.Machine {
			m := newMachine(t, sm.Config{})
			_, err := m.Pause("", at(1))
			require.NoError(t, err)
			return m
		}, n: 1, msg: "illegal transition PAUSED → PAUSED: nothing to roll back: no step has started",
			illegal: true, from: sm.Paused, to: sm.Paused},
		{name: "COMPLETE", setup: func(t *testing.T) *sm.Machine { return reach(t, sm.Complete, sm.Config{}) }, n: 1,
			msg:     "illegal transition COMPLETE → PROCESSING: cannot roll back: " + whyComplete,
			illegal: true, from: sm.Complete, to: sm.Processing},
		{name: "FAILED", setup: func(t *testing.T) *sm.Machine { return reach(t, sm.Failed, sm.Config{}) }, n: 1,
			msg:     "illegal transition FAILED → PROCESSING: cannot roll back: " + whyFailed,
			illegal: true, from: sm.Failed, to: sm.Processing},
		{name: "CANCELLED, n also bad", setup: func(t *testing.T) *sm.Machine { return reach(t, sm.Cancelled, sm.Config{}) }, n: 0,
			msg:     "illegal transition CANCELLED → PROCESSING: cannot roll back: " + whyCancelled,
			illegal: true, from: sm.Cancelled, to: sm.Processing},
		{name: "user guard", setup: func(t *testing.T) *sm.Machine {
			return reach(t, sm.Review, sm.Config{Guards: []sm.Guard{{
				Name: "no-undo", From: sm.Review, To: sm.Processing,
				Check: func(_ *sm.Machine, c sm.Cause) error {
					if c.Event == sm.EventRollback {
						return errNo
					}
					return nil
				},
			}}})
		}, n: 1, msg: `illegal transition REVIEW → PROCESSING: refused by guard "no-undo": rollback refused: no rollbacks after review`,
			illegal: true, from: sm.Review, to: sm.Processing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := tt.setup(t)
			before := m.Snapshot()

			cp, err := m.Rollback(tt.n, "", at(50))

			require.ErrorIs(t, err, sm.ErrRollback)
			require.EqualError(t, err, tt.msg)
			require.Zero(t, cp)
			requireUnchanged(t, before, m)
			if !tt.illegal {
				require.NotErrorIs(t, err, sm.ErrIllegalTransition, "a bad argument is not an illegal transition")
				return
			}
			te := requireRefused(t, err, tt.from, tt.to)
			require.Equal(t, sm.EventRollback, te.Event)
			if te.Guard != "" {
				require.ErrorIs(t, err, errNo)
			}
		})
	}
}

// twoDone is a PROCESSING machine with two completed steps.
func twoDone(t *testing.T) *sm.Machine {
	m := reach(t, sm.Processing, sm.Config{})
	_, err := m.CompleteStep("second", 2, nil, at(20))
	require.NoError(t, err)
	require.Equal(t, 2, m.CompletedCount())
	return m
}

func TestCompleteStepRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		state     sm.State
		pause     bool // pause after reaching state
		step      string
		remaining int
		data      string
		msg       string
		illegal   bool
	}{
		{name: "INITIAL", state: sm.Initial, step: "a", msg: "illegal transition INITIAL → INITIAL: no step has started: the run is still INITIAL", illegal: true},
		{name: "paused before start", state: sm.Initial, pause: true, step: "a",
			msg: "illegal transition PAUSED → PAUSED: no step has started: the run was paused before it began", illegal: true},
		{name: "COMPLETE", state: sm.Complete, step: "a", msg: "illegal transition COMPLETE → COMPLETE: " + whyComplete, illegal: true},
		{name: "FAILED", state: sm.Failed, step: "a", msg: "illegal transition FAILED → FAILED: " + whyFailed, illegal: true},
		{name: "CANCELLED", state: sm.Cancelled, step: "", msg: "illegal transition CANCELLED → CANCELLED: " + whyCancelled, illegal: true},
		{name: "empty step", state: sm.Processing, step: "", msg: "statemachine: complete step: the step name is empty"},
		{name: "negative remaining", state: sm.Waiting, step: "a", remaining: -1, msg: `statemachine: complete step "a": remaining is -1, it must be 0 or more`},
		{name: "bad data", state: sm.Review, step: "a", data: `{"a":`, msg: `statemachine: complete step "a": data is not valid JSON: unexpected end of JSON input`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := reach(t, tt.state, sm.Config{})
			if tt.pause {
				_, err := m.Pause("", at(40))
				require.NoError(t, err)
			}
			before := m.Snapshot()
			cp, err := m.CompleteStep(tt.step, tt.remaining, json.RawMessage(tt.data), at(41))
			require.EqualError(t, err, tt.msg)
			require.Zero(t, cp)
			requireUnchanged(t, before, m)
			if tt.illegal {
				te := requireRefused(t, err, m.State(), m.State())
				require.Equal(t, sm.EventStepCompleted, te.Event)
			} else {
				require.NotErrorIs(t, err, sm.ErrIllegalTransition)
			}
		})
	}
}

func TestCheckpointDataIsPrivate(t *testing.T) {
	t.Parallel()
	m := reach(t, sm.Processing, sm.Config{})
	data := json.RawMessage(`{"k":"v"}`)
	cp, err := m.CompleteStep("b", 1, data, at(10))
	require.NoError(t, err)
	data[2] = 'X'    // the caller reuses its buffer
	cp.Data[2] = 'Y' // or changes what it got back
	require.Equal(t, `{"k":"v"}`, string(m.Checkpoints()[2].Data))

	got, err := m.Rollback(1, "", at(11))
	require.NoError(t, err)
	got.Data[2] = 'Z'
	require.Equal(t, `{"n":1}`, string(m.Checkpoints()[1].Data))
}

func TestProgress(t *testing.T) {
	t.Parallel()
	t.Run("three steps", func(t *testing.T) {
		t.Parallel()
		m := newMachine(t, sm.Config{TotalSteps: 3})
		_, err := m.Transition(sm.Processing, sm.Cause{Step: "a", Event: sm.EventStart}, at(1))
		require.NoError(t, err)
		require.Equal(t, 0, m.Progress(), "starting is not progress")
		var got []int
		for i, step := range []string{"a", "b", "c"} {
			_, err := m.CompleteStep(step, 2-i, nil, at(2+i))
			require.NoError(t, err)
			got = append(got, m.Progress())
		}
		require.Equal(t, []int{33, 66, 99}, got, "99 until COMPLETE, even with nothing left")
		require.Equal(t, 3, m.Total())
		_, err = m.Complete(at(9))
		require.NoError(t, err)
		require.Equal(t, 100, m.Progress())
	})
	t.Run("forward only when the estimate grows", func(t *testing.T) {
		t.Parallel()
		m := reach(t, sm.Processing, sm.Config{}) // fetch done, 3 remaining: 25
		require.Equal(t, 25, m.Progress())
		steps := []struct {
			step      string
			remaining int
			want      int
			total     int
		}{
			{"b", 2, 50, 4},   // 2/4
			{"c", 20, 50, 23}, // 3/23 = 13, held at 50
			{"d", 4, 50, 8},   // 4/8 = 50
			{"e", 1, 83, 6},   // 5/6 = 83
			{"f", 0, 99, 6},   // 6/6 = 100, capped at 99
			{"g", 5, 99, 12},  // 7/12 = 58, held at 99
		}
		for _, s := range steps {
			cp, err := m.CompleteStep(s.step, s.remaining, nil, at(10))
			require.NoError(t, err)
			require.Equal(t, s.want, m.Progress(), s.step)
			require.Equal(t, s.want, cp.Progress, s.step)
			require.Equal(t, s.total, m.Total(), s.step)
		}
		_, err := m.Rollback(3, "", at(20)) // back to the checkpoint after "d"
		require.NoError(t, err)
		require.Equal(t, 50, m.Progress(), "only a rollback lowers progress")
	})
	t.Run("100 only in COMPLETE", func(t *testing.T) {
		t.Parallel()
		for _, end := range []func(m *sm.Machine) error{
			func(m *sm.Machine) error { _, err := m.Fail("", "", at(30)); return err },
			func(m *sm.Machine) error { _, err := m.Cancel("", at(30)); return err },
		} {
			m := reach(t, sm.Processing, sm.Config{})
			_, err := m.CompleteStep("last", 0, nil, at(20))
			require.NoError(t, err)
			require.NoError(t, end(m))
			require.Equal(t, 99, m.Progress(), "a run that did not complete is not at 100")
		}
	})
	t.Run("absurd estimate", func(t *testing.T) {
		t.Parallel()
		m := reach(t, sm.Processing, sm.Config{})
		_, err := m.CompleteStep("b", math.MaxInt, nil, at(20))
		require.NoError(t, err)
		require.Equal(t, 25, m.Progress())
		require.Equal(t, math.MaxInt, m.Total())
	})
}
