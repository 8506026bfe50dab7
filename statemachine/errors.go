package statemachine

import (
	"errors"
	"strconv"
)

// ErrIllegalTransition matches (with errors.Is) every refused move: one the
// table forbids, one a built-in guard refuses and one a user guard refuses.
// Callers that only need "was this move refused?" test for it; those that
// need the details use errors.As with *TransitionError.
var ErrIllegalTransition = errors.New("illegal transition")

// ErrRollback matches (with errors.Is) every refused Rollback. The wrapping
// error says precisely what was wrong (n out of range, nothing to roll back,
// a terminal run) so it can be shown to the operator who asked.
var ErrRollback = errors.New("rollback refused")

// TransitionError is the error of a refused move. It carries the move and
// the reason so that a workflow's update validator can return it to the
// caller as is, and so that code can branch on From/To with errors.As.
type TransitionError struct {
	// From is the state the machine was in (and still is).
	From State
	// To is the state the refused move would have entered.
	To State
	// Event is the event of the refused move.
	Event Event
	// Why is the table's or a built-in guard's reason; empty when a user
	// guard refused.
	Why string
	// Guard is the name of the user guard that refused; empty otherwise.
	Guard string
	// Err is the user guard's own error, or ErrRollback when a rollback was
	// refused because of the state the run is in; nil otherwise.
	Err error
}

// Error reads as a sentence an operator can act on, for example
// `illegal transition PROCESSING → INITIAL: INITIAL is only the starting
// state` or `illegal transition REVIEW → PROCESSING: refused by guard
// "approval": not approved`.
func (e *TransitionError) Error() string {
	head := ErrIllegalTransition.Error() + " " + e.From.String() + " → " + e.To.String() + ": "
	if e.Guard != "" {
		msg := head + "refused by guard " + strconv.Quote(e.Guard)
		if e.Err != nil {
			msg += ": " + e.Err.Error()
		}
		return msg
	}
	return head + e.Why
}

// Unwrap exposes both ErrIllegalTransition and the underlying error (a
// guard's error or ErrRollback), so errors.Is finds either.
func (e *TransitionError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrIllegalTransition}
	}
	return []error{ErrIllegalTransition, e.Err}
}
