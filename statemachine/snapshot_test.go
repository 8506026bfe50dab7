package statemachine_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	sm "github.com/statedriven/statedriven/statemachine"
)

// richMachine has steps, a rollback and a pause: a snapshot worth testing.
func richMachine(t *testing.T) *sm.Machine {
	m := reach(t, sm.Waiting, sm.Config{TotalSteps: 9})
	_, err := m.CompleteStep("b", 2, json.RawMessage(`{"rows":[1,2,3]}`), at(10))
	require.NoError(t, err)
	_, err = m.Rollback(1, "", at(11))
	require.NoError(t, err)
	_, err = m.CompleteStep("b", 2, json.RawMessage(`{"rows":[1,2]}`), at(12))
	require.NoError(t, err)
	_, err = m.Transition(sm.Review, sm.Cause{Step: "approve", Event: sm.EventReview}, at(13))
	require.NoError(t, err)
	_, err = m.Pause("lunch", at(14))
	require.NoError(t, err)
	return m
}

// roundTrip encodes s as JSON and decodes it again.
func roundTrip(t require.TestingT, s sm.Snapshot) sm.Snapshot {
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back sm.Snapshot
	require.NoError(t, json.Unmarshal(b, &back))
	return back
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    *sm.Machine
	}{
		{"new", newMachine(t, sm.Config{TotalSteps: 3})},
		{"rich", richMachine(t)},
		{"complete", reach(t, sm.Complete, sm.Config{})},
	}
	for _, tt := range tests {
		m := tt.m
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := m.Snapshot()
			back := roundTrip(t, s)
			require.Equal(t, s, back)
			r, err := sm.Restore(back, sm.Config{})
			require.NoError(t, err)
			require.Equal(t, s, r.Snapshot())
			require.Equal(t, m.State(), r.State())
			require.Equal(t, m.Resumes(), r.Resumes())
			require.Equal(t, m.History(), r.History())
			require.Equal(t, m.Checkpoints(), r.Checkpoints())
			require.Equal(t, m.Progress(), r.Progress())
			require.Equal(t, m.Total(), r.Total())
		})
	}
}

func TestSnapshotJSONShape(t *testing.T) {
	t.Parallel()
	m := reach(t, sm.Processing, sm.Config{TotalSteps: 4})
	b, err := json.Marshal(m.Snapshot())
	require.NoError(t, err)
	require.JSONEq(t, `{
		"state": "PROCESSING", "resumes": "PROCESSING", "progress": 25, "total": 4,
		"completed": ["fetch"], "completed_count": 1,
		"checkpoints": [
			{"seq": 0, "step": "", "completed": 0, "progress": 0, "at": "0001-01-01T00:00:00Z"},
			{"seq": 2, "step": "fetch", "completed": 1, "progress": 25, "data": {"n": 1}, "at": "2026-11-27T17:00:01Z"}
		],
		"history": [
			{"seq": 1, "from": "INITIAL", "to": "PROCESSING", "step": "fetch", "event": "transition", "reason": "", "at": "2026-11-27T17:00:00Z"},
			{"seq": 2, "from": "PROCESSING", "to": "PROCESSING", "step": "fetch", "event": "step_completed", "reason": "", "at": "2026-11-27T17:00:01Z"}
		]
	}`, string(b))
}

func TestSnapshotIsACopy(t *testing.T) {
	t.Parallel()
	m := richMachine(t)
	s := m.Snapshot()
	want := m.Snapshot()
	s.History[0].Step = "x"
	s.Completed[0] = "x"
	s.Checkpoints[1].Data[0] = 'x'
	require.Equal(t, want, m.Snapshot())

	r, err := sm.Restore(want, sm.Config{})
	require.NoError(t, err)
	want.History[0].Step = "y"
	want.Checkpoints[1].Data[0] = 'y'
	require.Equal(t, m.Snapshot(), r.Snapshot(), "Restore copies too")
}

func TestRestoreKeepsWorking(t *testing.T) {
	t.Parallel()
	var h hookLog
	m := richMachine(t)
	r, err := sm.Restore(roundTrip(t, m.Snapshot()), h.config())
	require.NoError(t, err)

	for _, x := range []*sm.Machine{m, r} {
		_, err := x.Transition(sm.Waiting, sm.Cause{Step: "skip"}, at(20))
		require.ErrorContains(t, err, "resume returns to REVIEW", "the restored machine remembers where to resume")
		_, err = x.Resume("", at(21))
		require.NoError(t, err)
		_, err = x.Rollback(2, "", at(22))
		require.NoError(t, err)
	}
	require.Equal(t, m.Snapshot(), r.Snapshot())
	require.Equal(t, []string{"exit PAUSED #9", "enter REVIEW #9", "exit REVIEW #10", "enter PROCESSING #10"}, h.take(),
		"hooks come from the new config")
}

func TestRestoreRefusesInconsistentSnapshots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		break_ func(s *sm.Snapshot)
		want   string
	}{
		{"state not a state", func(s *sm.Snapshot) { s.State = 8 }, "state State(8) / resumes WAITING: not states"},
		{"seq gap", func(s *sm.Snapshot) { s.History[2].Seq = 4 }, "history[2] has seq 4, want 3: seq must run without gaps"},
		{"seq from 0", func(s *sm.Snapshot) {
			for i := range s.History {
				s.History[i].Seq--
			}
		}, "history[0] has seq 0, want 1"},
		{"broken chain", func(s *sm.Snapshot) { s.History[2].From = sm.Review }, "history[2] (seq 3) starts in REVIEW but the run was in PROCESSING"},
		{"not from INITIAL", func(s *sm.Snapshot) { s.History[0].From = sm.Waiting }, "history[0] (seq 1) starts in WAITING but the run was in INITIAL"},
		{"record not a state", func(s *sm.Snapshot) { s.History[1].To = 77 }, "history[1] (seq 2): PROCESSING → State(77) is not a pair of states"},
		{"last record elsewhere", func(s *sm.Snapshot) { s.State, s.Resumes = sm.Review, sm.Review }, "the last record ends in WAITING but the state is REVIEW"},
		{"empty history, started", func(s *sm.Snapshot) { s.History = nil }, "the last record ends in INITIAL but the state is WAITING"},
		{"progress above 100", func(s *sm.Snapshot) { s.Progress = 101 }, "progress is 101: it must be 0 to 100"},
		{"progress negative", func(s *sm.Snapshot) { s.Progress = -1 }, "progress is -1: it must be 0 to 100"},
		{"100 outside COMPLETE", func(s *sm.Snapshot) { s.Progress = 100 }, "progress is 100 in WAITING: only a COMPLETE run is at 100"},
		{"progress off its checkpoint", func(s *sm.Snapshot) { s.Progress = 60 }, "progress is 60 but the last checkpoint's is 50"},
		{"negative total", func(s *sm.Snapshot) { s.Total = -1 }, "total is -1: it must be 0 or more"},
		{"resumes outside PAUSED", func(s *sm.Snapshot) { s.Resumes = sm.Review }, "resumes is REVIEW in WAITING: outside PAUSED it must equal the state"},
		{"checkpoint missing", func(s *sm.Snapshot) { s.Checkpoints = s.Checkpoints[:2] }, "the last checkpoint counts 1 completed step(s) but 2 completed"},
		{"completed missing", func(s *sm.Snapshot) { s.Completed = s.Completed[:1] }, "3 checkpoint(s) for 1 completed step name(s)"},
		{"empty step name", func(s *sm.Snapshot) { s.Completed[1], s.Checkpoints[2].Step = "", "" }, "completed[1] is an empty step name"},
		{"step names differ", func(s *sm.Snapshot) { s.Completed[0] = "other" }, `checkpoints[1] is for step "fetch" but completed[0] is "other"`},
		{"checkpoint count", func(s *sm.Snapshot) { s.Checkpoints[1].Completed = 5 }, "checkpoints[1] counts 5 completed step(s), want 1"},
		{"last checkpoint count", func(s *sm.Snapshot) { s.Checkpoints[2].Completed = 5 }, "the last checkpoint counts 5 completed step(s) but 2 completed"},
		{"start not zero", func(s *sm.Snapshot) { s.Checkpoints[0].Progress = 3 }, "checkpoints[0] must be the start (all zero)"},
		{"checkpoint off its record", func(s *sm.Snapshot) { s.Checkpoints[2].Seq = 4 }, "checkpoints[2] (seq 4) does not match its record"},
		{"checkpoint beyond history", func(s *sm.Snapshot) { s.Checkpoints[2].Seq = 99 }, "checkpoints[2] has seq 99, which is not in the history"},
		{"checkpoints out of order", func(s *sm.Snapshot) { s.Checkpoints[2].Seq = 1 }, "checkpoints[2] has seq 1, not after checkpoints[1] (seq 2)"},
		{"checkpoint progress backwards", func(s *sm.Snapshot) { s.Checkpoints[2].Progress, s.Progress = 10, 10 },
			"checkpoints[2] has progress 10: it must be from 25 (the previous checkpoint's) to 99"},
		{"bad data", func(s *sm.Snapshot) { s.Checkpoints[1].Data = json.RawMessage(`{`) }, "checkpoints[1] data is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := reach(t, sm.Processing, sm.Config{})
			_, err := m.CompleteStep("second", 2, nil, at(10)) // seq 3, progress 50
			require.NoError(t, err)
			_, err = m.Transition(sm.Waiting, sm.Cause{Step: "w"}, at(11)) // seq 4
			require.NoError(t, err)
			s := m.Snapshot()
			_, err = sm.Restore(s, sm.Config{})
			require.NoError(t, err, "the unbroken snapshot is fine")

			tt.break_(&s)
			r, err := sm.Restore(s, sm.Config{})
			require.Nil(t, r)
			require.ErrorContains(t, err, "statemachine: inconsistent snapshot: ")
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestRestorePausedSnapshots(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{})
	_, err := m.Pause("", at(1))
	require.NoError(t, err)
	s := m.Snapshot()
	require.Equal(t, sm.Initial, s.Resumes)

	bad := s
	bad.Resumes = sm.Complete
	_, err = sm.Restore(bad, sm.Config{})
	require.ErrorContains(t, err, "a PAUSED run resumes to COMPLETE: it can only resume to INITIAL, PROCESSING, WAITING or REVIEW")

	bad = roundTrip(t, s)
	bad.Completed = []string{"a"}
	bad.Checkpoints = append(bad.Checkpoints, sm.Checkpoint{Seq: 1, Step: "a", Completed: 1})
	_, err = sm.Restore(bad, sm.Config{})
	require.ErrorContains(t, err, "1 step(s) completed in a run that has not started")

	bad = roundTrip(t, s)
	bad.State, bad.Progress = sm.Complete, 100
	bad.History[0].To = sm.Complete
	_, err = sm.Restore(bad, sm.Config{})
	require.ErrorContains(t, err, "resumes is INITIAL in COMPLETE")

	bad = roundTrip(t, s)
	bad.State, bad.Resumes = sm.Failed, sm.Failed
	bad.History[0].To = sm.Failed
	_, err = sm.Restore(bad, sm.Config{})
	require.NoError(t, err, "FAILED at progress 0 is consistent")

	bad.State, bad.Resumes = sm.Complete, sm.Complete
	bad.History[0].To = sm.Complete
	_, err = sm.Restore(bad, sm.Config{})
	require.ErrorContains(t, err, "progress is 0 in COMPLETE: a complete run is at 100")
}
