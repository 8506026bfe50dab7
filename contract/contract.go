// Package contract holds the names and payloads that statedriven's
// packages and its outside callers share: the workflow type and task
// queues, the signal, query and update names, the search attributes, the
// step activity's input and output, and the JSON of progress and history
// that the `progress` and `history` queries and the Redis projection both
// answer (../shared/DESIGN.md, "Contracts with outside clients").
//
// It imports no worker machinery and no I/O, so the workflow, the
// activities, the projection, the host and any caller written in Go can
// share it without pulling in each other.
package contract

import (
	"encoding/json"
	"time"

	"github.com/statedriven/statedriven/statemachine"
)

// Names that outside clients rely on: the Temporal CLI, the Web UI, the
// starter and older callers use them as they are.
const (
	// WorkflowType is the registered name of the interpreter workflow.
	WorkflowType = "StateDrivenWorkflow"
	// DefaultTaskQueue is the task queue of the workflow and of the steps
	// that name no specialist.
	DefaultTaskQueue = "statedriven"

	SignalPause  = "pause"
	SignalResume = "resume"
	SignalCancel = "cancel"

	QueryState      = "state"
	QueryProgress   = "progress"
	QueryHistory    = "history"
	QueryDefinition = "definition"

	UpdateApprove = "approve"
	UpdateReject  = "reject"
	// The operator's updates (issue 11). Each has a validator: a refused
	// request is answered with the reason and leaves no trace in the run.
	UpdateRollback   = "rollback"
	UpdateTransition = "transition"
	UpdateSkip       = "skip"
	UpdateModify     = "modify"
	// UpdatePause and UpdateResume share their names with the signals:
	// the signal is fire-and-forget (the Temporal CLI, the Web UI), the
	// update answers whether the run took it (the starter).
	UpdatePause  = "pause"
	UpdateResume = "resume"

	// RunStepName is the activity type of every step. A specialist worker,
	// in any language, serves a specialist's task queue by registering an
	// activity of this name that takes a StepInput and returns a
	// StepOutput (both JSON).
	RunStepName = "RunStep"
)

// SpecialistQueue is the task queue of a specialist's steps: the worker's
// task queue, a dot, and the specialist's name ("statedriven.validation_agent").
func SpecialistQueue(taskQueue, specialist string) string {
	return taskQueue + "." + specialist
}

// Names of the search attributes that the workflow upserts on every
// transition, for the Web UI and `temporal workflow list --query`.
const (
	// StateAttribute (Keyword) is the run's state, as State.String spells it.
	StateAttribute = "WorkflowState"
	// ProgressAttribute (Int) is the run's progress percentage.
	ProgressAttribute = "WorkflowProgress"
	// DefinitionAttribute (Keyword) is the name of the run's definition.
	DefinitionAttribute = "DefinitionName"
	// RedrivenFromAttribute (Keyword) is, on a run started by `starter
	// retry`, the run ID of the FAILED or CANCELLED run it continues. The
	// starter sets it at start; a namespace without it gets the link in
	// the input and the history only.
	RedrivenFromAttribute = "RedrivenFrom"
)

// Record is one entry of a run's history, as the `history` query answers
// it and the Redis projection stores it: the statemachine's own record.
type Record = statemachine.Record

// HistoryRequest is the optional argument of the history query. Without
// one (or with FromSeq 0) the query answers the records the run keeps,
// oldest first; records older than those are in the inputs of the earlier
// runs of its continue-as-new chain (starter history reads them).
type HistoryRequest struct {
	// FromSeq is the first Seq wanted.
	FromSeq uint64 `json:"from_seq,omitempty"`
	// Limit bounds the records answered (0: all that are kept, from
	// FromSeq on; never more than MaxHistoryPage).
	Limit int `json:"limit,omitempty"`
}

// MaxHistoryPage bounds one answer of the history query, so that it stays
// well inside Temporal's message size limits.
const MaxHistoryPage = 5000

// Reason is the optional payload of the pause, resume and cancel signals
// and of the approve, reject, pause, resume and skip updates: why, and
// who asks. The history records both; a request without Who is recorded
// as AnonymousWho (Temporal does not tell a workflow who sent a signal or
// an update; its own event history keeps the sender's identity).
type Reason struct {
	Reason string `json:"reason,omitempty"`
	Who    string `json:"who,omitempty"`
}

// AnonymousWho is the who recorded for a request that names nobody.
const AnonymousWho = "anonymous"

// RollbackRequest is the rollback update's payload: undo the last Steps
// completed steps (a parallel group counts as one), running their
// compensations newest first, and go on from the first step undone.
type RollbackRequest struct {
	Steps  int    `json:"steps"`
	Reason string `json:"reason,omitempty"`
	Who    string `json:"who,omitempty"`
}

// TransitionRequest is the transition update's payload: a manual move to
// To (a state's name), through the machine's transition table and guards.
type TransitionRequest struct {
	To     string `json:"to"`
	Reason string `json:"reason,omitempty"`
	Who    string `json:"who,omitempty"`
}

// ModifyRequest is the modify update's payload: the steps the run has not
// reached replaced by those of a new definition. Plan is a compiled plan
// (as the starter sends it, its hash checked); Definition is a definition
// document (JSON, or YAML in a JSON string), compiled by the run with the
// same validator as a file. Exactly one of them is set.
type ModifyRequest struct {
	Plan       json.RawMessage `json:"plan,omitempty"`
	Definition json.RawMessage `json:"definition,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Who        string          `json:"who,omitempty"`
}

// Progress answers the `progress` query; the Redis projection returns the
// same JSON.
type Progress struct {
	WorkflowID         string    `json:"workflow_id"`
	RunID              string    `json:"run_id"`
	Definition         string    `json:"definition"`
	Status             string    `json:"status"`
	CurrentSteps       []string  `json:"current_steps"`
	ProgressPercentage int       `json:"progress_percentage"`
	IsComplete         bool      `json:"is_complete"`
	CompletedSteps     int       `json:"completed_steps"`
	TotalSteps         int       `json:"total_steps"`
	Paused             bool      `json:"paused"`
	Error              string    `json:"error"`
	UpdatedAt          time.Time `json:"updated_at"`
	Seq                uint64    `json:"seq"`
}

// StateView answers the `state` query.
type StateView struct {
	State statemachine.State `json:"state"`
	// Resumes is the state a paused run returns to.
	Resumes      statemachine.State `json:"resumes,omitempty"`
	CurrentSteps []string           `json:"current_steps"`
	Seq          uint64             `json:"seq"`
	// Next is the step the run goes on with once the current one ends
	// (after a rollback: the first step undone).
	Next string `json:"next,omitempty"`
	// PlanHash is the hash of the plan the run follows (it changes with
	// modify).
	PlanHash string `json:"plan_hash,omitempty"`
	// RollingBack is set while a rollback's compensations run.
	RollingBack bool `json:"rolling_back,omitempty"`
}

// ProjectActivityName is the local activity through which a run mirrors
// its progress and history into Redis (package projection implements it;
// a worker without Redis registers one that writes nothing).
const ProjectActivityName = "StateDrivenProject"

// ProjectionBatch is what a run asks the projection to write: its
// progress now and the history records it has made since the last batch
// that was written, oldest first and contiguous by Seq. A write changes
// nothing unless Progress.Seq is newer than the stored seq.
type ProjectionBatch struct {
	Progress Progress `json:"progress"`
	Records  []Record `json:"records,omitempty"`
	// Reset replaces the stored history list with Records instead of
	// appending to it: the run no longer keeps the records that follow the
	// stored seq (the mirror fell behind by more than the run's history
	// window, or it expired), so the list restarts from what it has.
	Reset bool `json:"reset,omitempty"`
	// Chain, Generation and Task stamp the workflow task that made the
	// batch: the first run ID of the run's continue-as-new chain, how many
	// runs came before this one in it, and the event ID at which the task
	// started. A workflow task that fails after its projection was written
	// is tried again with a later Task, and what that attempt writes
	// replaces what the failed one wrote: Temporal kept only the later one.
	// A batch from an earlier task than the stored one changes nothing; a
	// batch of another chain (a new execution under the same workflow ID)
	// replaces the mirror.
	Chain      string `json:"chain,omitempty"`
	Generation int    `json:"generation,omitempty"`
	Task       int64  `json:"task,omitempty"`
}

// ProjectionResult answers a ProjectionBatch: the seq that Redis holds
// for the run after the write. It is the batch's own seq when the write
// went in, the stored one when Redis already had newer data, and lower
// than the batch's first record when Redis lacks the records before it
// (flushed or expired): the run then sends again from Seq+1.
type ProjectionResult struct {
	Seq uint64 `json:"seq"`
}
