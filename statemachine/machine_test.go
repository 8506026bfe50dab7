package statemachine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sm "github.com/statedriven/statedriven/statemachine"
)

func TestNewMachine(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{TotalSteps: 7})
	require.Equal(t, sm.Initial, m.State())
	require.Equal(t, sm.Initial, m.Resumes())
	require.Equal(t, 0, m.Len())
	require.Empty(t, m.History())
	_, ok := m.Last()
	require.False(t, ok)
	require.Equal(t, "", m.Step())
	require.Equal(t, 0, m.Progress())
	require.Equal(t, 7, m.Total())
	require.Empty(t, m.Completed())
	require.Equal(t, 0, m.CompletedCount())
	require.Equal(t, []sm.Checkpoint{{}}, m.Checkpoints(), "checkpoint 0 is the start")
}

// hookLog records hook calls as "exit X #seq" / "enter Y #seq".
type hookLog struct{ calls []string }

func (h *hookLog) config() sm.Config {
	cfg := sm.Config{OnEnter: map[sm.State]func(sm.Record){}, OnExit: map[sm.State]func(sm.Record){}}
	for _, s := range sm.States() {
		cfg.OnEnter[s] = func(r sm.Record) { h.calls = append(h.calls, fmt.Sprintf("enter %s #%d", s, r.Seq)) }
		cfg.OnExit[s] = func(r sm.Record) { h.calls = append(h.calls, fmt.Sprintf("exit %s #%d", s, r.Seq)) }
	}
	return cfg
}

// take returns the calls since the last take.
func (h *hookLog) take() []string {
	out := h.calls
	h.calls = nil
	return out
}

func TestHooks(t *testing.T) {
	t.Parallel()
	var h hookLog
	m := newMachine(t, h.config())

	_, err := m.Transition(sm.Processing, sm.Cause{Step: "a", Event: sm.EventStart}, at(1))
	require.NoError(t, err)
	require.Equal(t, []string{"exit INITIAL #1", "enter PROCESSING #1"}, h.take(), "exit, then enter")

	_, err = m.Transition(sm.Processing, sm.Cause{Step: "b", Event: sm.EventStep}, at(2))
	require.NoError(t, err)
	require.Empty(t, h.take(), "a step change within a state runs no hooks")

	_, err = m.CompleteStep("b", 1, nil, at(3))
	require.NoError(t, err)
	require.Empty(t, h.take(), "CompleteStep runs no hooks")

	_, err = m.Transition(sm.Initial, sm.Cause{Step: "c"}, at(4))
	require.Error(t, err)
	_, err = m.Transition(sm.Processing, sm.Cause{}, at(4))
	require.Error(t, err)
	require.Empty(t, h.take(), "refused moves run no hooks")

	_, err = m.Transition(sm.Waiting, sm.Cause{Step: "c", Event: sm.EventWait}, at(5))
	require.NoError(t, err)
	require.Equal(t, []string{"exit PROCESSING #4", "enter WAITING #4"}, h.take())

	_, err = m.Pause("", at(6))
	require.NoError(t, err)
	require.Equal(t, []string{"exit WAITING #5", "enter PAUSED #5"}, h.take())

	_, err = m.Rollback(1, "", at(7))
	require.NoError(t, err)
	require.Empty(t, h.take(), "a rollback while paused stays PAUSED")

	_, err = m.Resume("", at(8))
	require.NoError(t, err)
	require.Equal(t, []string{"exit PAUSED #7", "enter PROCESSING #7"}, h.take(), "resume after a rollback goes to PROCESSING")

	_, err = m.Complete(at(9))
	require.NoError(t, err)
	require.Equal(t, []string{"exit PROCESSING #8", "enter COMPLETE #8"}, h.take())
}

func TestHookSeesNewState(t *testing.T) {
	t.Parallel()
	var m *sm.Machine
	var seen []sm.State
	m = newMachine(t, sm.Config{OnEnter: map[sm.State]func(sm.Record){
		sm.Review: func(sm.Record) { seen = append(seen, m.State()) },
	}})
	_, err := m.Transition(sm.Review, sm.Cause{Step: "approve-order"}, at(1))
	require.NoError(t, err)
	require.Equal(t, []sm.State{sm.Review}, seen)
}

func TestShorthandRecords(t *testing.T) {
	t.Parallel()
	m := reach(t, sm.Processing, sm.Config{}) // records 1 (start "fetch") and 2 (fetch completed)

	rec, err := m.Pause("maintenance", at(10))
	require.NoError(t, err)
	require.Equal(t, sm.Record{Seq: 3, From: sm.Processing, To: sm.Paused, Step: "fetch", Event: sm.EventPause, Reason: "maintenance", At: at(10)}, rec)

	_, err = m.Pause("again", at(11))
	te := requireRefused(t, err, sm.Paused, sm.Paused)
	require.Equal(t, whyPaused, te.Why)

	rec, err = m.Resume("done", at(12))
	require.NoError(t, err)
	require.Equal(t, sm.Record{Seq: 4, From: sm.Paused, To: sm.Processing, Step: "fetch", Event: sm.EventResume, Reason: "done", At: at(12)}, rec)

	rec, err = m.Fail("load", "timeout talking to the warehouse", at(13))
	require.NoError(t, err)
	require.Equal(t, sm.Record{Seq: 5, From: sm.Processing, To: sm.Failed, Step: "load", Event: sm.EventFail, Reason: "timeout talking to the warehouse", At: at(13)}, rec)
	require.Equal(t, "load", m.Step())

	m = reach(t, sm.Review, sm.Config{})
	rec, err = m.Cancel("customer withdrew", at(20))
	require.NoError(t, err)
	require.Equal(t, sm.Record{Seq: 4, From: sm.Review, To: sm.Cancelled, Step: "fetch", Event: sm.EventCancel, Reason: "customer withdrew", At: at(20)}, rec)

	m = reach(t, sm.Waiting, sm.Config{})
	rec, err = m.Complete(at(30))
	require.NoError(t, err)
	require.Equal(t, sm.Record{Seq: 4, From: sm.Waiting, To: sm.Complete, Step: "fetch", Event: sm.EventComplete, At: at(30)}, rec)
	require.Equal(t, 100, m.Progress())
	require.Equal(t, 1, m.Total(), "a finished run's total is what it ran")
}

func TestHistoryIsACopy(t *testing.T) {
	t.Parallel()
	m := reach(t, sm.Waiting, sm.Config{})
	h := m.History()
	h[0].Step = "tampered"
	c := m.Completed()
	c[0] = "tampered"
	cps := m.Checkpoints()
	cps[1].Data[0] = 'X'
	require.Equal(t, "fetch", m.History()[0].Step)
	require.Equal(t, []string{"fetch"}, m.Completed())
	require.Equal(t, `{"n":1}`, string(m.Checkpoints()[1].Data))
}

func TestTimesAreStoredInUTC(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{})
	local := time.Date(2026, 11, 27, 18, 0, 0, 5, time.FixedZone("CET", 3600))
	rec, err := m.Transition(sm.Processing, sm.Cause{Step: "a"}, local)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 27, 17, 0, 0, 5, time.UTC), rec.At)
	require.Equal(t, time.UTC, rec.At.Location())
}

func TestInvalidUTF8IsReplaced(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{})
	rec, err := m.Transition(sm.Processing, sm.Cause{Step: "a\xffb", Event: "e\xfe", Reason: "\xc3"}, at(1))
	require.NoError(t, err)
	require.Equal(t, "a\uFFFDb", rec.Step)
	require.Equal(t, sm.Event("e\uFFFD"), rec.Event)
	require.Equal(t, "\uFFFD", rec.Reason)
}

func TestTransitionErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *sm.TransitionError
		want string
	}{
		{&sm.TransitionError{From: sm.Processing, To: sm.Initial, Why: whyInitial},
			"illegal transition PROCESSING → INITIAL: INITIAL is only the starting state"},
		{&sm.TransitionError{From: sm.Review, To: sm.Processing, Guard: "approval", Err: fmt.Errorf("not approved")},
			`illegal transition REVIEW → PROCESSING: refused by guard "approval": not approved`},
		{&sm.TransitionError{From: sm.Review, To: sm.Processing, Guard: "approval"},
			`illegal transition REVIEW → PROCESSING: refused by guard "approval"`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.err.Error())
		require.ErrorIs(t, tt.err, sm.ErrIllegalTransition)
	}
}

// OnRecord sees every record, notes, checkpoints and rollbacks included,
// and nothing for a refused move.
func TestOnRecordSeesEveryRecord(t *testing.T) {
	t.Parallel()
	var seen []string
	m := newMachine(t, sm.Config{OnRecord: func(r sm.Record) {
		seen = append(seen, fmt.Sprintf("#%d %s>%s %s", r.Seq, r.From, r.To, r.Event))
	}})
	_, err := m.Transition(sm.Processing, sm.Cause{Step: "a", Event: sm.EventStart}, at(1))
	require.NoError(t, err)
	_, err = m.CompleteStep("a", 1, nil, at(2))
	require.NoError(t, err)
	_, err = m.Transition(sm.Initial, sm.Cause{Step: "b"}, at(3))
	require.Error(t, err)
	_, err = m.Note(sm.Cause{Step: "a", Event: sm.EventRefused, Reason: "no"}, at(3))
	require.NoError(t, err)
	_, err = m.Rollback(1, "", at(4))
	require.NoError(t, err)
	_, err = m.Cancel("", at(5))
	require.NoError(t, err)
	require.Equal(t, []string{
		"#1 INITIAL>PROCESSING start",
		"#2 PROCESSING>PROCESSING step_completed",
		"#3 PROCESSING>PROCESSING refused",
		"#4 PROCESSING>PROCESSING rollback",
		"#5 PROCESSING>CANCELLED cancel",
	}, seen)
	require.Equal(t, uint64(len(seen)), m.Seq())
}
