// Package workflows holds the one interpreter workflow, StateDrivenWorkflow,
// which runs a compiled definition (a definition.Plan) as a durable Temporal
// workflow whose body drives a statemachine.Machine, and its input and
// result. The names and payloads that outside clients share with it are in
// package contract.
package workflows

import (
	"go.temporal.io/sdk/temporal"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/statemachine"
)

// Search attributes upserted on every transition, for the Web UI and
// `temporal workflow list --query`.
var (
	StateAttribute      = temporal.NewSearchAttributeKeyKeyword(contract.StateAttribute)
	ProgressAttribute   = temporal.NewSearchAttributeKeyInt64(contract.ProgressAttribute)
	DefinitionAttribute = temporal.NewSearchAttributeKeyKeyword(contract.DefinitionAttribute)
)

// Input starts a run: the plan is a snapshot, so editing the definition
// file never changes a run in flight.
type Input struct {
	Plan definition.Plan `json:"plan"`
	// Data is the run's input, seen by expressions as `input`.
	Data map[string]any `json:"input,omitempty"`
	// MaxStepsPerRun bounds the steps one Temporal run executes before it
	// continues as new, carrying its state across (0: only when the server
	// suggests it). It keeps the history of a long loop bounded.
	MaxStepsPerRun int `json:"max_steps_per_run,omitempty"`
	// NoSearchAttributes turns off upserting WorkflowState,
	// WorkflowProgress and DefinitionName, for a namespace where they are
	// not registered (the starter sets it when the server refuses them).
	NoSearchAttributes bool `json:"no_search_attributes,omitempty"`
	// ProgressEvery is how old the last upsert must be before a change of
	// progress alone is written to WorkflowProgress (a change of state is
	// written at once). NewInput sets DefaultProgressEvery. An input
	// without it keeps the 2 s of the runs started before it existed, so
	// that their histories replay. A worker older than this field ignores
	// it and writes every 2 s; a newer worker that took over such a run
	// would not replay its history: upgrade every worker before the
	// clients that set it.
	ProgressEvery definition.Duration `json:"progress_every,omitzero"`
	// HistoryWindow is how many of the machine's newest records a run
	// keeps in memory and carries across continue-as-new; a run also
	// continues as new once it has made half as many, so that every record
	// travels in the next run's input and `starter history` can read the
	// whole trail from the chain. NewInput sets DefaultHistoryWindow. 0,
	// as in an input from before the field existed, keeps every record:
	// the carried state then grows with the run.
	HistoryWindow int `json:"history_window,omitempty"`
	// RollbackWindow is how many completed steps keep a checkpoint, so
	// how far a rollback reaches; with HistoryWindow set, 0 means
	// DefaultRollbackWindow. Each checkpoint holds the step outputs of its
	// moment, so the carried state is at most RollbackWindow+1 times the
	// outputs of the definition's steps.
	RollbackWindow int `json:"rollback_window,omitempty"`
	// Projection is the version of the Redis projection the run writes
	// (ProjectionVersion; NewInput sets it). An input without it, from
	// before the projector or written by hand, is decided by a version
	// marker: a new run mirrors, a recorded one replays as it ran.
	Projection int `json:"projection,omitempty"`
	// Redrive is set when the run continues a FAILED or CANCELLED run
	// (`starter retry`): it starts at Redrive.From with the outputs of
	// the steps that had succeeded.
	Redrive *Redrive `json:"redrive,omitempty"`
	// Control is the version of the operator's semantics the run follows
	// (ControlVersion; NewInput sets it): a pause stops the clocks of
	// waits and reviews, a cancel runs the compensations. An input without
	// it is decided by a version marker, as Projection is.
	Control int `json:"control,omitempty"`
	// Carry is set only when a run continues as new: the machine and the
	// data it had, so the new run picks up where the old one stopped.
	Carry *Carry `json:"carry,omitempty"`
}

// NewInput is the input of a new run of plan with data, the engine's
// defaults set.
func NewInput(plan *definition.Plan, data map[string]any) Input {
	return Input{
		Plan:           *plan,
		Data:           data,
		ProgressEvery:  definition.Duration{D: DefaultProgressEvery, Set: true},
		HistoryWindow:  DefaultHistoryWindow,
		RollbackWindow: DefaultRollbackWindow,
		Projection:     ProjectionVersion,
		Control:        ControlVersion,
	}
}

// Defaults of the windows that bound what a run keeps and carries.
const (
	// DefaultHistoryWindow: records are about 150 bytes of JSON each, so
	// 1,000 carry about 150 KB.
	DefaultHistoryWindow = 1000
	// DefaultRollbackWindow: a rollback reaches ten steps back.
	DefaultRollbackWindow = 10
)

// Carry is what crosses continue-as-new.
type Carry struct {
	Machine statemachine.Snapshot `json:"machine"`
	// Steps are the step outputs so far, by step name.
	Steps map[string]any `json:"steps,omitempty"`
	// Next is the step to run first in the new run.
	Next string `json:"next"`
	// Paused tells the new run that it starts paused.
	Paused bool `json:"paused,omitempty"`
	// Runs counts how many times the run continued as new.
	Runs int `json:"runs"`
	// Projected is the seq the Redis projection held when the run
	// continued as new, so the next run writes on from there.
	Projected uint64 `json:"projected,omitempty"`
	// Done are the completed steps a rollback or a cancel can undo
	// (at most doneWindow of them).
	Done []doneStep `json:"done,omitempty"`
}

// Redrive links a run to the FAILED or CANCELLED run it continues.
type Redrive struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// From is the step the new run starts with.
	From string `json:"from"`
	// Steps are the outputs of the old run's steps, by name, as the new
	// run's steps see them (`steps.NAME`).
	Steps  map[string]any `json:"steps,omitempty"`
	Reason string         `json:"reason,omitempty"`
	Who    string         `json:"who,omitempty"`
}

// Result is what a finished run returns. A FAILED run carries it as its
// failure's details, a CANCELLED one as its cancellation's details, so
// that `starter retry` can pick up from it.
type Result struct {
	State statemachine.State `json:"state"`
	// Steps are the step outputs, by step name.
	Steps map[string]any `json:"steps,omitempty"`
	Error string         `json:"error,omitempty"`
	// StepsOmitted says why Steps is empty in a run that had outputs:
	// they were over the payload limit, and Temporal would have refused
	// the run's completion again and again.
	StepsOmitted string `json:"steps_omitted,omitempty"`
	// Step is, in a FAILED or CANCELLED run, the step that failed or was
	// running (or due next) when the run was cancelled: where a redrive
	// starts by default.
	Step string `json:"step,omitempty"`
	// PlanHash is the hash of the plan the run followed at its end (a
	// modify changes it).
	PlanHash string `json:"plan_hash,omitempty"`
}
