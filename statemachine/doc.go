// Package statemachine is the finite state machine of one workflow run: its
// state, the table of moves it may make, the guards that can refuse a move,
// its append-only history, the checkpoint taken after every completed step,
// rollback to a checkpoint, and its progress.
//
// The interpreter workflow (package workflows) drives one Machine per run
// from inside Temporal workflow code, so everything here is deterministic:
// time is passed in by the caller (workflow.Now), nothing reads a clock or
// a random source, starts a goroutine or ranges over a map in a way that
// reaches the output. Replaying the same calls gives the same machine,
// byte for byte. The package imports neither Temporal nor Redis.
//
// # States
//
// A run starts in INITIAL, works in PROCESSING (a step's activity runs),
// WAITING (a timer or an outside event) and REVIEW (a person decides), may be
// PAUSED by an operator, and ends in COMPLETE, FAILED or CANCELLED. The last
// three are terminal: a finished run never changes again, and every later
// operation on it is refused.
//
// # Transition table
//
// Rows are the state a run is in, columns the state it may move to. "yes"
// means the table allows it (guards may still refuse); a number is a refusal
// or a restriction explained below.
//
//	from \ to    INITIAL  PROCESSING  WAITING  REVIEW  PAUSED  COMPLETE  FAILED  CANCELLED
//	INITIAL        (1)       yes        yes     yes     yes      (2)      yes      yes
//	PROCESSING     (1)       (3)        yes     yes     yes      yes      yes      yes
//	WAITING        (1)       yes        (3)     yes     yes      yes      yes      yes
//	REVIEW         (1)       yes        yes     (3)     yes      yes      yes      yes
//	PAUSED         (4)       (4)        (4)     (4)     (5)      (6)      yes      yes
//	COMPLETE       (7)       (7)        (7)     (7)     (7)      (7)      (7)      (7)
//	FAILED         (7)       (7)        (7)     (7)     (7)      (7)      (7)      (7)
//	CANCELLED      (7)       (7)        (7)     (7)     (7)      (7)      (7)      (7)
//
// The numbers:
//
//  1. Refused: "INITIAL is only the starting state". The one way back into
//     INITIAL is (4), resuming a run that was paused before it started.
//  2. Refused: "a run completes only after it has run a step".
//  3. Allowed only with a step (Cause.Step not empty): "a move within
//     PROCESSING must name the step it moves to". Moving on to another step
//     is the only reason to stay in a state, and the record must say which.
//  4. Allowed only as a resume, to the state the run was paused in
//     (Machine.Resumes): "resume returns to REVIEW, the state the run was
//     paused in". Pause and resume therefore cannot skip a REVIEW gate or a
//     WAITING timer. A run paused in INITIAL resumes to INITIAL.
//  5. Refused: "the run is already paused".
//  6. Refused: "a paused run must resume before it completes".
//  7. Refused: "COMPLETE is terminal: a finished run does not change state"
//     (FAILED, CANCELLED alike).
//
// The rules (3) and (4) are the built-in guards. User guards (Config.Guards)
// run after them, for one (from, to) pair each, and can refuse for their own
// reasons (an approval missing, a budget spent); a refusal names the guard.
// New refuses a guard on a pair the table never allows.
//
// A refused move is a *TransitionError that matches ErrIllegalTransition
// with errors.Is, carries From, To and the reason, and wraps a user guard's
// own error. A refused operation of any kind never panics and changes
// nothing: not the state, the history, the progress or the checkpoints.
//
// # History
//
// Every successful operation appends one Record (seq, from, to, step,
// event, reason, at). Seq runs 1, 2, 3… without gaps and the last record
// ends in the current state. History is never rewritten, not even by a
// rollback, which is recorded like any other move; the Redis projection
// relies on this to apply records idempotently by seq.
//
// A run that lives for months makes records without end, so a machine can
// keep only a window of them (Config.HistoryWindow): the newest records,
// and every record from the mark set by KeepFrom on, which the caller moves
// once it has saved them elsewhere (the workflow carries them into the
// next run of its continue-as-new chain). Seq goes on counting; Len and
// Seq count every record ever made, History and HistoryPage show the kept
// ones. Likewise Config.CheckpointWindow keeps the checkpoints of the
// newest completed steps only, which bounds how far Rollback reaches.
//
// Hooks (Config.OnExit, Config.OnEnter) run after a record is appended, only
// when the state changed: first the old state's exit hook, then the new
// state's entry hook. A step change within a state and CompleteStep run no
// hooks.
//
// # Steps, checkpoints and rollback
//
// CompleteStep records that a step finished, with the caller's estimate of
// the steps still to come and a JSON snapshot of the caller's data, and
// takes a checkpoint. Checkpoint 0 is the start. Rollback(n) goes back to
// the checkpoint n completed steps ago: the steps after it are no longer
// completed, progress returns to the checkpoint's, the run goes to
// PROCESSING to redo the work (a paused run stays PAUSED and will resume to
// PROCESSING), and the caller restores the checkpoint's data. User guards
// on the resulting move are consulted, as for any move. Every refused
// rollback matches ErrRollback; one refused because of the run's state
// (INITIAL, terminal) or by a guard also matches ErrIllegalTransition.
//
// # Progress
//
// Progress is a whole number from 0 to 100:
//
//   - It is 0 at the start.
//   - After CompleteStep, with c steps completed and `remaining` steps still
//     expected, it is min(99, max(previous, floor(100*c/(c+remaining)))).
//     The caller's `remaining` is where conditional paths (steps that will
//     be skipped are not counted) and parallel branches (each branch's steps
//     count once they are known to run) enter the figure.
//   - It never moves backwards when the estimate grows: a run that
//     discovers more work stays where it was until it catches up.
//   - It is at most 99 before COMPLETE, even when nothing remains, and
//     entering COMPLETE makes it 100. It is 100 only in COMPLETE.
//   - Only Rollback lowers it, to the progress of the checkpoint it
//     restores.
//
// For example, three steps with remaining 2, 1, 0 give 33, 66, 99, and
// Complete gives 100.
//
// # Snapshots
//
// Machine.Snapshot returns the whole machine as plain data and Restore
// rebuilds it after checking that it is consistent, so a workflow can carry
// a run across continue-as-new. A snapshot's JSON round trip gives back an
// equal machine. A snapshot holds what the machine keeps, so with windows
// its size is bounded by them and by the caller's checkpoint data, never
// by the number of steps run.
package statemachine
