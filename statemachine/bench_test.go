package statemachine_test

import (
	"encoding/json"
	"testing"

	sm "github.com/statedriven/statedriven/statemachine"
)

// The benchmarks start a fresh machine every few thousand operations, as a
// run that continues-as-new would, so that history does not grow without
// bound over b.N; the cost of New and of history growth is included,
// amortized, as it is in a real run.
const runLength = 4096

func BenchmarkTransition(b *testing.B) {
	start := func() *sm.Machine {
		m, err := sm.New(sm.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Transition(sm.Processing, sm.Cause{Step: "fetch", Event: sm.EventStart}, t0); err != nil {
			b.Fatal(err)
		}
		return m
	}
	targets := [2]sm.State{sm.Waiting, sm.Processing}
	causes := [2]sm.Cause{{Step: "wait-for-stock", Event: sm.EventWait}, {Step: "ship", Event: sm.EventStep}}
	m := start()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if m.Len() >= runLength {
			m = start()
		}
		if _, err := m.Transition(targets[i&1], causes[i&1], t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompleteStep(b *testing.B) {
	start := func() *sm.Machine {
		m, err := sm.New(sm.Config{TotalSteps: runLength})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Transition(sm.Processing, sm.Cause{Step: "fetch", Event: sm.EventStart}, t0); err != nil {
			b.Fatal(err)
		}
		return m
	}
	data := json.RawMessage(`{"order":42,"items":["a","b"]}`)
	m := start()
	b.ReportAllocs()
	for b.Loop() {
		if m.Len() >= runLength {
			m = start()
		}
		if _, err := m.CompleteStep("transform", runLength-m.CompletedCount(), data, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRollback measures one Rollback(1) plus the CompleteStep that
// redoes the step, on a machine with 10 completed steps.
func BenchmarkRollback(b *testing.B) {
	data := json.RawMessage(`{"order":42}`)
	start := func() *sm.Machine {
		m, err := sm.New(sm.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Transition(sm.Processing, sm.Cause{Step: "s", Event: sm.EventStart}, t0); err != nil {
			b.Fatal(err)
		}
		for i := range 10 {
			if _, err := m.CompleteStep("s", 10-i, data, t0); err != nil {
				b.Fatal(err)
			}
		}
		return m
	}
	m := start()
	b.ReportAllocs()
	for b.Loop() {
		if m.Len() >= runLength {
			m = start()
		}
		if _, err := m.Rollback(1, "retry", t0); err != nil {
			b.Fatal(err)
		}
		if _, err := m.CompleteStep("s", 1, data, t0); err != nil {
			b.Fatal(err)
		}
	}
}
