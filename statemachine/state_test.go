package statemachine_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	sm "github.com/statedriven/statedriven/statemachine"
)

func TestStateNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state    sm.State
		name     string
		terminal bool
	}{
		{sm.Initial, "INITIAL", false},
		{sm.Processing, "PROCESSING", false},
		{sm.Waiting, "WAITING", false},
		{sm.Review, "REVIEW", false},
		{sm.Paused, "PAUSED", false},
		{sm.Complete, "COMPLETE", true},
		{sm.Failed, "FAILED", true},
		{sm.Cancelled, "CANCELLED", true},
	}
	var order []sm.State
	for _, tt := range tests {
		order = append(order, tt.state)
		require.Equal(t, tt.name, tt.state.String())
		require.Equal(t, tt.terminal, tt.state.Terminal(), tt.name)

		text, err := tt.state.MarshalText()
		require.NoError(t, err)
		require.Equal(t, tt.name, string(text))
		var back sm.State
		require.NoError(t, back.UnmarshalText(text))
		require.Equal(t, tt.state, back)
	}
	require.Equal(t, order, sm.States())
	require.Equal(t, sm.Initial, sm.State(0), "INITIAL is the zero value")
}

func TestStateOutOfRange(t *testing.T) {
	t.Parallel()
	require.Equal(t, "State(9)", sm.State(9).String())
	require.False(t, sm.State(9).Terminal())
	_, err := sm.State(8).MarshalText()
	require.EqualError(t, err, "cannot marshal State(8): not a state")
	_, err = json.Marshal(sm.Record{From: sm.State(200)})
	require.Error(t, err, "a corrupt state never reaches JSON")
}

func TestParseState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want sm.State
	}{
		{"INITIAL", sm.Initial},
		{"processing", sm.Processing},
		{"Waiting", sm.Waiting},
		{"rEvIeW", sm.Review},
		{"paused", sm.Paused},
		{"complete", sm.Complete},
		{"FAILED", sm.Failed},
		{"cancelled", sm.Cancelled},
	}
	for _, tt := range tests {
		got, err := sm.ParseState(tt.in)
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "DONE", " PROCESSING", "canceled", "State(1)"} {
		_, err := sm.ParseState(bad)
		require.EqualError(t, err, `unknown state "`+bad+`": valid states are INITIAL, PROCESSING, WAITING, REVIEW, PAUSED, COMPLETE, FAILED, CANCELLED`)
	}
	var s sm.State = sm.Review
	require.Error(t, json.Unmarshal([]byte(`"DONE"`), &s))
	require.Equal(t, sm.Review, s, "a failed unmarshal leaves the value alone")
}

func TestRecordJSON(t *testing.T) {
	t.Parallel()
	rec := sm.Record{Seq: 1, From: sm.Initial, To: sm.Processing, Step: "validate", Event: sm.EventStart, At: t0}
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	require.JSONEq(t, `{"seq":1,"from":"INITIAL","to":"PROCESSING","step":"validate","event":"start","reason":"","at":"2026-11-27T17:00:00Z"}`, string(b))
	require.Equal(t, `{"seq":1,"from":"INITIAL","to":"PROCESSING","step":"validate","event":"start","reason":"","at":"2026-11-27T17:00:00Z"}`, string(b), "field order is the contract's")

	var back sm.Record
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, rec, back)
}

func TestEventValues(t *testing.T) {
	t.Parallel()
	// These strings are stored in history and read by clients: they never change.
	tests := []struct {
		event sm.Event
		want  string
	}{
		{sm.EventStart, "start"},
		{sm.EventStep, "step"},
		{sm.EventStepCompleted, "step_completed"},
		{sm.EventWait, "wait"},
		{sm.EventReview, "review"},
		{sm.EventApprove, "approve"},
		{sm.EventReject, "reject"},
		{sm.EventTimeout, "timeout"},
		{sm.EventPause, "pause"},
		{sm.EventResume, "resume"},
		{sm.EventCancel, "cancel"},
		{sm.EventFail, "fail"},
		{sm.EventComplete, "complete"},
		{sm.EventRollback, "rollback"},
		{sm.EventManual, "transition"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, string(tt.event))
	}
}
