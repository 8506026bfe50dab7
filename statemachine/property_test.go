package statemachine_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	sm "github.com/statedriven/statedriven/statemachine"
)

// op is one randomly drawn operation on a machine.
type op struct {
	kind      string
	to        sm.State
	cause     sm.Cause
	remaining int
	data      json.RawMessage
	n         int
}

func (o op) String() string {
	return fmt.Sprintf("%s(to=%s cause=%+v remaining=%d data=%s n=%d)", o.kind, o.to, o.cause, o.remaining, o.data, o.n)
}

// Kinds are repeated to weight the draw towards moves and steps, which
// build the interesting states that the other operations then act on.
var (
	allKinds = []string{
		"transition", "transition", "transition", "step", "step", "step",
		"pause", "resume", "cancel", "fail", "complete", "rollback", "rollback",
	}
	nonTerminalKinds = []string{"transition", "transition", "step", "step", "pause", "resume", "rollback"}
	allTargets       = append(sm.States(), sm.State(8)) // one target that is not a state
	liveTargets      = []sm.State{sm.Initial, sm.Processing, sm.Waiting, sm.Review, sm.Paused}
	steps            = []string{"", "fetch", "transform", "load", "a\xffb"}
	events           = []sm.Event{"", sm.EventStep, sm.EventWait, sm.EventApprove, sm.EventManual, "custom"}
	datas            = []json.RawMessage{nil, json.RawMessage(`{"x": 1}`), json.RawMessage(`[1,"<&>"]`), json.RawMessage(`null`), json.RawMessage(`{"bad"`)}
)

func drawOp(rt *rapid.T, m *sm.Machine, kinds []string, targets []sm.State) op {
	o := op{kind: rapid.SampledFrom(kinds).Draw(rt, "op")}
	reason := rapid.SampledFrom([]string{"", "because"}).Draw(rt, "reason")
	switch o.kind {
	case "transition":
		o.to = rapid.SampledFrom(targets).Draw(rt, "to")
		o.cause = sm.Cause{Step: rapid.SampledFrom(steps).Draw(rt, "step"), Event: rapid.SampledFrom(events).Draw(rt, "event"), Reason: reason}
	case "step":
		o.cause.Step = rapid.SampledFrom(steps).Draw(rt, "step")
		o.remaining = rapid.IntRange(-1, 6).Draw(rt, "remaining")
		o.data = rapid.SampledFrom(datas).Draw(rt, "data")
	case "fail":
		o.cause = sm.Cause{Step: rapid.SampledFrom(steps).Draw(rt, "step"), Reason: reason}
	case "rollback":
		o.n = rapid.IntRange(-1, m.CompletedCount()+1).Draw(rt, "n")
		o.cause.Reason = reason
	default:
		o.cause.Reason = reason
	}
	return o
}

func (o op) apply(m *sm.Machine, t time.Time) error {
	var err error
	switch o.kind {
	case "transition":
		_, err = m.Transition(o.to, o.cause, t)
	case "step":
		_, err = m.CompleteStep(o.cause.Step, o.remaining, o.data, t)
	case "pause":
		_, err = m.Pause(o.cause.Reason, t)
	case "resume":
		_, err = m.Resume(o.cause.Reason, t)
	case "cancel":
		_, err = m.Cancel(o.cause.Reason, t)
	case "fail":
		_, err = m.Fail(o.cause.Step, o.cause.Reason, t)
	case "complete":
		_, err = m.Complete(t)
	case "rollback":
		_, err = m.Rollback(o.n, o.cause.Reason, t)
	default:
		panic("unknown op " + o.kind)
	}
	return err
}

// checkOp checks what must hold after any operation, given the machine
// before it and the hook calls it caused.
func checkOp(t require.TestingT, h *hookLog, o op, before sm.Snapshot, m *sm.Machine, err error) {
	after := m.Snapshot()
	calls := h.take()
	if before.State.Terminal() {
		require.Error(t, err, "%s succeeded on a %s run", o, before.State)
	}
	if err != nil {
		require.Equal(t, before, after, "refused %s changed the machine", o)
		require.Empty(t, calls, "refused %s ran hooks", o)
	} else {
		require.Len(t, after.History, len(before.History)+1, "%s must append exactly one record", o)
		rec := after.History[len(after.History)-1]
		if rec.From != rec.To {
			require.Equal(t, []string{
				fmt.Sprintf("exit %s #%d", rec.From, rec.Seq),
				fmt.Sprintf("enter %s #%d", rec.To, rec.Seq),
			}, calls, "%s hooks", o)
		} else {
			require.Empty(t, calls, "%s stayed in %s but ran hooks", o, rec.To)
		}
		if o.kind != "rollback" {
			require.GreaterOrEqual(t, after.Progress, before.Progress, "%s moved progress backwards", o)
		}
	}
	checkInvariants(t, m)
}

// checkInvariants checks what must hold of every reachable machine.
func checkInvariants(t require.TestingT, m *sm.Machine) {
	s := m.Snapshot()
	for i, r := range s.History {
		require.Equal(t, uint64(i)+1, r.Seq, "seq must run from 1 without gaps")
	}
	if last, ok := m.Last(); ok {
		require.Equal(t, m.State(), last.To, "the last record ends in the current state")
		require.Equal(t, last.Step, m.Step())
	} else {
		require.Equal(t, sm.Initial, m.State())
	}
	require.Equal(t, m.State() == sm.Complete, m.Progress() == 100, "progress is 100 iff COMPLETE (state %s, progress %d)", m.State(), m.Progress())
	require.GreaterOrEqual(t, m.Progress(), 0)
	require.Equal(t, m.CompletedCount(), len(m.Checkpoints())-1)
	require.True(t, slices.Equal(m.Completed(), s.Completed), "Completed and the snapshot agree")
	if m.State() != sm.Paused {
		require.Equal(t, m.State(), m.Resumes())
	}
	// Every reachable machine survives JSON and Restore unchanged.
	r, err := sm.Restore(roundTrip(t, s), sm.Config{})
	require.NoError(t, err)
	require.Equal(t, s, r.Snapshot())
}

func TestPropertyOperations(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		var h hookLog
		cfg := h.config()
		cfg.TotalSteps = rapid.IntRange(0, 10).Draw(rt, "total")
		m := newMachine(rt, cfg)
		checkInvariants(rt, m)
		for i := range rapid.IntRange(1, 80).Draw(rt, "ops") {
			o := drawOp(rt, m, allKinds, allTargets)
			before := m.Snapshot()
			err := o.apply(m, at(i))
			checkOp(rt, &h, o, before, m, err)
		}
	})
}

// progressView is what a rollback and a replay must give back exactly;
// Seq and At necessarily differ, since history only grows.
type progressView struct {
	State       sm.State
	Resumes     sm.State
	Progress    int
	Total       int
	Completed   []string
	Checkpoints []sm.Checkpoint
}

func viewOf(m *sm.Machine) progressView {
	cps := m.Checkpoints()
	for i := range cps {
		cps[i].Seq, cps[i].At = 0, time.Time{}
	}
	return progressView{m.State(), m.Resumes(), m.Progress(), m.Total(), m.Completed(), cps}
}

// toProcessing drives a live machine to PROCESSING, or leaves it PAUSED
// with PROCESSING to resume, so that a rollback (which lands there) ends
// where the steps began.
func toProcessing(t require.TestingT, m *sm.Machine, i int) {
	if m.State() == sm.Paused && m.Resumes() != sm.Processing {
		_, err := m.Resume("", at(i))
		require.NoError(t, err)
	}
	if s := m.State(); s != sm.Processing && s != sm.Paused {
		_, err := m.Transition(sm.Processing, sm.Cause{Step: "again", Event: sm.EventStep}, at(i))
		require.NoError(t, err)
	}
}

func TestPropertyRollbackThenReplay(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		m := newMachine(rt, sm.Config{TotalSteps: rapid.IntRange(0, 10).Draw(rt, "total")})
		n := rapid.IntRange(0, 40).Draw(rt, "prefix")
		for i := range n {
			_ = drawOp(rt, m, nonTerminalKinds, liveTargets).apply(m, at(i)) // refusals are fine here
		}
		require.False(rt, m.State().Terminal())
		toProcessing(rt, m, n)
		beforeSteps := m.Checkpoints()

		type stepDone struct {
			name      string
			remaining int
			data      json.RawMessage
		}
		k := rapid.IntRange(1, 5).Draw(rt, "k")
		var work []stepDone
		for range k {
			work = append(work, stepDone{
				name:      rapid.SampledFrom(steps[1:]).Draw(rt, "step"),
				remaining: rapid.IntRange(0, 6).Draw(rt, "remaining"),
				data:      rapid.SampledFrom(datas[:4]).Draw(rt, "data"),
			})
		}
		run := func(base int) {
			for i, w := range work {
				_, err := m.CompleteStep(w.name, w.remaining, w.data, at(base+i))
				require.NoError(rt, err)
			}
		}

		run(100)
		want := viewOf(m)
		cp, err := m.Rollback(k, "", at(200))
		require.NoError(rt, err)
		require.Equal(rt, beforeSteps[len(beforeSteps)-1], cp, "the rollback returns the checkpoint before the steps")
		require.Equal(rt, beforeSteps, m.Checkpoints(), "and restores the checkpoints as they were")
		run(300)
		require.Equal(rt, want, viewOf(m), "replaying the same steps gives the same run")
		checkInvariants(rt, m)
	})
}

// TestPropertySnapshotBehaves checks that a restored machine is not only
// equal but behaves the same: every later operation gives the same result.
func TestPropertySnapshotBehaves(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		m := newMachine(rt, sm.Config{TotalSteps: rapid.IntRange(0, 10).Draw(rt, "total")})
		n := rapid.IntRange(0, 40).Draw(rt, "prefix")
		for i := range n {
			_ = drawOp(rt, m, allKinds, allTargets).apply(m, at(i))
		}
		r, err := sm.Restore(roundTrip(rt, m.Snapshot()), sm.Config{})
		require.NoError(rt, err)
		for i := range rapid.IntRange(1, 30).Draw(rt, "ops") {
			o := drawOp(rt, m, allKinds, allTargets)
			errM := o.apply(m, at(n+i))
			errR := o.apply(r, at(n+i))
			require.Equal(rt, fmt.Sprint(errM), fmt.Sprint(errR), "%s", o)
			require.Equal(rt, m.Snapshot(), r.Snapshot(), "%s", o)
		}
	})
}
