package statemachine_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/statedriven/statedriven/statemachine"
)

// Example runs an order through three steps, with a pause and a rollback,
// then prints what a dashboard would see.
func Example() {
	m, err := statemachine.New(statemachine.Config{TotalSteps: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC) // in a workflow: workflow.Now(ctx)
	tick := func() time.Time { now = now.Add(time.Second); return now }
	must := func(_ any, err error) {
		if err != nil {
			panic(err)
		}
	}
	step := func(name string) statemachine.Cause {
		return statemachine.Cause{Step: name, Event: statemachine.EventStep}
	}

	must(m.Transition(statemachine.Processing, statemachine.Cause{Step: "validate", Event: statemachine.EventStart}, tick()))
	must(m.CompleteStep("validate", 2, json.RawMessage(`{"valid":true}`), tick()))
	must(m.Transition(statemachine.Processing, step("transform"), tick()))
	must(m.Pause("operator break", tick()))
	must(m.CompleteStep("transform", 1, json.RawMessage(`{"rows":10}`), tick())) // finished while paused
	must(m.Resume("", tick()))
	fmt.Println("progress before rollback:", m.Progress())

	cp, err := m.Rollback(1, "", tick()) // the transform was wrong: redo it
	must(cp, err)
	fmt.Printf("restored %s, progress %d\n", cp.Data, m.Progress())

	must(m.Transition(statemachine.Processing, step("transform"), tick()))
	must(m.CompleteStep("transform", 1, json.RawMessage(`{"rows":12}`), tick()))
	must(m.Transition(statemachine.Processing, step("load"), tick()))
	must(m.CompleteStep("load", 0, nil, tick()))
	fmt.Println("progress before complete:", m.Progress())
	must(m.Complete(tick()))
	fmt.Println("state:", m.State(), "progress:", m.Progress(), "completed:", m.Completed())

	for _, r := range m.History() {
		line := fmt.Sprintf("%2d %-10s → %-10s %-14s %-9s %s", r.Seq, r.From, r.To, r.Event, r.Step, r.Reason)
		fmt.Println(strings.TrimRight(line, " "))
	}
	// Output:
	// progress before rollback: 66
	// restored {"valid":true}, progress 33
	// progress before complete: 99
	// state: COMPLETE progress: 100 completed: [validate transform load]
	//  1 INITIAL    → PROCESSING start          validate
	//  2 PROCESSING → PROCESSING step_completed validate
	//  3 PROCESSING → PROCESSING step           transform
	//  4 PROCESSING → PAUSED     pause          transform operator break
	//  5 PAUSED     → PAUSED     step_completed transform
	//  6 PAUSED     → PROCESSING resume         transform
	//  7 PROCESSING → PROCESSING rollback       validate  rolled back 1 step(s) to the checkpoint after "validate"
	//  8 PROCESSING → PROCESSING step           transform
	//  9 PROCESSING → PROCESSING step_completed transform
	// 10 PROCESSING → PROCESSING step           load
	// 11 PROCESSING → PROCESSING step_completed load
	// 12 PROCESSING → COMPLETE   complete       load
}
