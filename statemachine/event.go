package statemachine

// Event names what made a run change state. It is recorded in every history
// record so that a reader of the history (a dashboard, the Redis projection,
// an operator) sees why the run moved, not only where. Event is an open
// string type: the constants below are the events the interpreter and the
// Machine's shorthands use, and a caller may record others.
type Event string

// The events the interpreter and the Machine use. Their values are the
// strings stored in history and shown to clients, so they never change.
const (
	// EventStart is the move out of INITIAL when the first step begins.
	EventStart Event = "start"
	// EventStep is a move because the run went on to another step.
	EventStep Event = "step"
	// EventStepCompleted marks a step that finished (Machine.CompleteStep).
	EventStepCompleted Event = "step_completed"
	// EventWait is a move into WAITING.
	EventWait Event = "wait"
	// EventReview is a move into REVIEW.
	EventReview Event = "review"
	// EventApprove is a reviewer's approval.
	EventApprove Event = "approve"
	// EventReject is a reviewer's rejection.
	EventReject Event = "reject"
	// EventTimeout is a move because a deadline passed.
	EventTimeout Event = "timeout"
	// EventPause is an operator's pause (Machine.Pause).
	EventPause Event = "pause"
	// EventResume is an operator's resume (Machine.Resume).
	EventResume Event = "resume"
	// EventCancel is a cancellation (Machine.Cancel).
	EventCancel Event = "cancel"
	// EventFail is a failure that ends the run (Machine.Fail).
	EventFail Event = "fail"
	// EventComplete is the end of a successful run (Machine.Complete).
	EventComplete Event = "complete"
	// EventRollback is a rollback to an earlier checkpoint (Machine.Rollback).
	EventRollback Event = "rollback"
	// EventManual is an operator's explicit transition request (the
	// "transition" update).
	EventManual Event = "transition"
	// EventSkip is a step an operator skipped (the "skip" update): it
	// counts as completed, with an empty output.
	EventSkip Event = "skip"
	// EventModify is an operator's change of the steps not yet run (the
	// "modify" update); the reason names the old and new plan hashes.
	EventModify Event = "modify"
	// EventCompensate is a compensation that ran for an undone step.
	EventCompensate Event = "compensate"
	// EventCompensateFailed is a compensation that failed for good.
	EventCompensateFailed Event = "compensate_failed"
	// EventRefused is a signal the run could not act on (a second pause,
	// a resume while running): noted so a sender without an answer (the
	// Temporal CLI, the Web UI) can see it in the history.
	EventRefused Event = "refused"
	// EventRedrive is the start of a run that continues a FAILED or
	// CANCELLED one.
	EventRedrive Event = "redrive"
	// EventApprove and EventReject above are also noted with who and why
	// when a reviewer decides.
)

// Cause is what a transition carries besides its target: the step it
// concerns, the event that triggered it and a free-text reason. It is passed
// to guards, so a guard can decide on more than the (from, to) pair.
type Cause struct {
	// Step is the step the run moves to or the move concerns. A move that
	// stays in the same state (PROCESSING → PROCESSING) must name one,
	// because a step change is the only reason for such a move.
	Step string
	// Event is what triggered the move.
	Event Event
	// Reason is a human explanation, kept in history for operators.
	Reason string
	// Who asked for the move (an operator), kept in history.
	Who string
}
