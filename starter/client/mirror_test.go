package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/statemachine"
)

var at = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func records(seqs ...uint64) []contract.Record {
	out := make([]contract.Record, len(seqs))
	for i, s := range seqs {
		out[i] = contract.Record{Seq: s, From: statemachine.Processing, To: statemachine.Processing, Step: "s", At: at.Add(time.Duration(s) * time.Second)}
	}
	return out
}

func TestNewestRecords(t *testing.T) {
	t.Parallel()
	require.Nil(t, NewestRecords(nil, 10))
	require.Equal(t, records(1, 2, 3), NewestRecords(records(1, 2, 3), -1))
	require.Equal(t, records(2, 3), NewestRecords(records(1, 2, 3), 2))
	require.Equal(t, records(5, 6), NewestRecords(records(1, 2, 5, 6), 10), "only what follows the last gap (past retention)")
}

func TestCompareHistory(t *testing.T) {
	t.Parallel()
	changed := records(1, 2, 3)
	changed[1].Reason = "tampered"
	changed[1].At = at
	cases := []struct {
		name       string
		list, want []contract.Record
		diffs      []string
	}{
		{"same", records(1, 2, 3), records(1, 2, 3), nil},
		{"both empty", nil, nil, nil},
		{"missing at the end", records(1, 2), records(1, 2, 3, 4), []string{"history missing from redis: seqs 3-4"}},
		{"extra", records(1, 2, 3), records(2, 3), []string{"history extra in redis: seq 1"}},
		{"repeats", records(1, 2, 2, 3), records(1, 2, 3), []string{"history list repeats or reorders: seq 2 after seq 2"}},
		{"skips", records(1, 3), records(1, 2, 3), []string{"history list skips seq 2", "history missing from redis: seq 2"}},
		{"differs", changed, records(1, 2, 3), []string{
			`history seq 2 differs: reason redis "tampered", temporal ""; at redis "2026-12-03T12:00:00Z", temporal "2026-12-03T12:00:02Z"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.diffs, CompareHistory(tc.list, tc.want))
		})
	}
}

func TestCompareProgress(t *testing.T) {
	t.Parallel()
	p := contract.Progress{WorkflowID: "w", RunID: "r", Definition: "d", Status: "PROCESSING", CurrentSteps: []string{"a"},
		ProgressPercentage: 30, CompletedSteps: 3, TotalSteps: 10, UpdatedAt: at, Seq: 7}
	require.Empty(t, CompareProgress(p, p))
	same := p
	same.UpdatedAt = at.In(time.FixedZone("x", 3600))
	require.Empty(t, CompareProgress(same, p), "the same instant in another zone")
	q := p
	q.Status, q.CurrentSteps, q.Seq, q.Paused = "PAUSED", nil, 8, true
	require.Equal(t, []string{
		`progress status: redis "PAUSED", temporal "PROCESSING"`,
		`progress current_steps: redis "[]", temporal "[a]"`,
		"progress paused: redis true, temporal false",
		"progress seq: redis 8, temporal 7",
	}, CompareProgress(q, p))
	require.Equal(t, []string{"not in redis (temporal is at seq 7, PROCESSING)"}, Compare(nil, Truth{Progress: p}, 10))
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]bool{"COMPLETE": true, "FAILED": true, "CANCELLED": true, "PAUSED": false, "PROCESSING": false, "": false} {
		require.Equal(t, want, Terminal(status), status)
	}
}
