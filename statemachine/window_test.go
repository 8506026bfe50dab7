package statemachine_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	sm "github.com/statedriven/statedriven/statemachine"
)

// loop drives m through n steps of a loop: a move to the step, then its
// completion, two records per step.
func loop(t *testing.T, m *sm.Machine, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		name := fmt.Sprintf("s%d", i%3)
		_, err := m.Transition(sm.Processing, sm.Cause{Step: name, Event: sm.EventStep}, at(2*i))
		require.NoError(t, err)
		_, err = m.CompleteStep(name, 1, json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), at(2*i+1))
		require.NoError(t, err)
	}
}

func requireContiguous(t *testing.T, records []sm.Record, first, last uint64) {
	t.Helper()
	require.NotEmpty(t, records)
	require.Equal(t, first, records[0].Seq)
	require.Equal(t, last, records[len(records)-1].Seq)
	for i, r := range records {
		require.Equal(t, first+uint64(i), r.Seq)
	}
}

func TestHistoryWindowKeepsTheNewestRecords(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{HistoryWindow: 5})
	loop(t, m, 0, 100)
	require.Equal(t, 200, m.Len(), "seq counts every record, kept or not")
	requireContiguous(t, m.History(), 196, 200)
	last, ok := m.Last()
	require.True(t, ok)
	require.Equal(t, uint64(200), last.Seq)
	require.Equal(t, 100, m.CompletedCount())

	s := m.Snapshot()
	requireContiguous(t, s.History, 196, 200)
	r, err := sm.Restore(roundTrip(t, s), sm.Config{HistoryWindow: 5})
	require.NoError(t, err)
	require.Equal(t, s, r.Snapshot())
	loop(t, r, 100, 1)
	requireContiguous(t, r.History(), 198, 202)
}

func TestKeepFromHoldsRecordsNotSavedYet(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{HistoryWindow: 3})
	loop(t, m, 0, 5) // seq 1..10
	m.KeepFrom(m.Seq() + 1)
	loop(t, m, 5, 10) // seq 11..30: all kept, the window notwithstanding
	requireContiguous(t, m.History(), 11, 30)
	requireContiguous(t, m.Snapshot().History, 11, 30)
	m.KeepFrom(m.Seq() + 1)
	requireContiguous(t, m.History(), 28, 30)
}

func TestHistoryPage(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{HistoryWindow: 10})
	loop(t, m, 0, 20) // seq 1..40, 31..40 kept
	tests := []struct {
		name        string
		from        uint64
		limit       int
		first, last uint64
	}{
		{"all kept", 0, 0, 31, 40},
		{"from inside", 35, 0, 35, 40},
		{"from before the window", 3, 4, 31, 34},
		{"limited", 32, 2, 32, 33},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireContiguous(t, m.HistoryPage(tt.from, tt.limit), tt.first, tt.last)
		})
	}
	require.Empty(t, m.HistoryPage(41, 0), "nothing after the newest")
}

func TestCheckpointWindowBoundsRollback(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{CheckpointWindow: 2})
	loop(t, m, 0, 10)
	require.Len(t, m.Checkpoints(), 3)
	require.Equal(t, []string{"s1", "s2", "s0"}, m.Completed(), "the steps whose checkpoints are kept: 7, 8 and 9")
	require.Equal(t, 10, m.CompletedCount())

	before := m.Snapshot()
	_, err := m.Rollback(3, "", at(100))
	require.ErrorIs(t, err, sm.ErrRollback)
	require.ErrorContains(t, err, "its last 2 completed step(s) only")
	requireUnchanged(t, before, m)

	cp, err := m.Rollback(2, "", at(100))
	require.NoError(t, err)
	require.Equal(t, 8, cp.Completed)
	require.JSONEq(t, `{"i":7}`, string(cp.Data))
	require.Equal(t, 8, m.CompletedCount())
	require.Len(t, m.Checkpoints(), 1)

	r, err := sm.Restore(roundTrip(t, m.Snapshot()), sm.Config{CheckpointWindow: 2})
	require.NoError(t, err)
	require.Equal(t, m.Snapshot(), r.Snapshot())
	_, err = r.Rollback(1, "", at(101))
	require.ErrorContains(t, err, "its last 0 completed step(s) only")
}

// A windowed machine and an unbounded one fed the same operations agree
// on everything but how much of the past they keep.
func TestWindowsChangeOnlyWhatIsKept(t *testing.T) {
	t.Parallel()
	full := newMachine(t, sm.Config{})
	small := newMachine(t, sm.Config{HistoryWindow: 4, CheckpointWindow: 3})
	for _, m := range []*sm.Machine{full, small} {
		loop(t, m, 0, 30)
		_, err := m.Rollback(2, "redo", at(200))
		require.NoError(t, err)
		loop(t, m, 30, 5)
		_, err = m.Pause("lunch", at(300))
		require.NoError(t, err)
	}
	require.Equal(t, full.State(), small.State())
	require.Equal(t, full.Progress(), small.Progress())
	require.Equal(t, full.Total(), small.Total())
	require.Equal(t, full.CompletedCount(), small.CompletedCount())
	require.Equal(t, full.Len(), small.Len())
	fh := full.History()
	require.Equal(t, fh[len(fh)-4:], small.History())
	fc := full.Checkpoints()
	require.Equal(t, fc[len(fc)-4:], small.Checkpoints())
}

func TestRestoreCutsAWiderSnapshot(t *testing.T) {
	t.Parallel()
	m := newMachine(t, sm.Config{})
	loop(t, m, 0, 10)
	s := roundTrip(t, m.Snapshot())
	s.CompletedCount = 0 // as a snapshot from before windows existed
	r, err := sm.Restore(s, sm.Config{HistoryWindow: 6, CheckpointWindow: 2})
	require.NoError(t, err)
	require.Equal(t, 10, r.CompletedCount())
	requireContiguous(t, r.History(), 15, 20)
	require.Len(t, r.Checkpoints(), 3)
	_, err = sm.Restore(roundTrip(t, r.Snapshot()), sm.Config{})
	require.NoError(t, err, "a cut snapshot is consistent")
}

func TestWindowConfigRefusesNegatives(t *testing.T) {
	t.Parallel()
	_, err := sm.New(sm.Config{HistoryWindow: -1, CheckpointWindow: -2})
	require.ErrorContains(t, err, "HistoryWindow is -1")
	require.ErrorContains(t, err, "CheckpointWindow is -2")
}
