package statemachine

import (
	"fmt"
	"strconv"
	"strings"
)

// State is where a run stands. It is a small integer so that the transition
// table can be a fixed array indexed by [from][to]; its text form (String,
// MarshalText) is the upper-case name that queries, Redis and the CLI show.
type State uint8

// The states of a run, in the order the table and States list them. Initial
// is the zero value so that a zero Machine field or a missing JSON value
// means "not started" rather than something a run has done.
const (
	// Initial is the state before the first step: a run starts here and,
	// apart from resuming a run paused before it began, never comes back.
	Initial State = iota
	// Processing is the state while a step's activity runs.
	Processing
	// Waiting is the state while the run waits for time to pass or for
	// something outside it (a timer, a signal, a child).
	Waiting
	// Review is the state while the run waits for a person to approve or
	// reject.
	Review
	// Paused is the state of a run an operator has paused; it remembers the
	// state it came from (see Machine.Resumes).
	Paused
	// Complete is the terminal state of a run that finished its work.
	Complete
	// Failed is the terminal state of a run that stopped on an error.
	Failed
	// Cancelled is the terminal state of a run that was cancelled.
	Cancelled

	// numStates sizes the transition table; it is not a state.
	numStates = iota
)

// stateNames is indexed by State; keeping it an array (not a map) keeps
// String allocation-free and the order fixed.
var stateNames = [numStates]string{
	Initial:    "INITIAL",
	Processing: "PROCESSING",
	Waiting:    "WAITING",
	Review:     "REVIEW",
	Paused:     "PAUSED",
	Complete:   "COMPLETE",
	Failed:     "FAILED",
	Cancelled:  "CANCELLED",
}

// States returns every state in declaration order, so that tests, CLI help
// and documentation can walk them without depending on the numbering.
func States() []State {
	out := make([]State, numStates)
	for i := range out {
		out[i] = State(i)
	}
	return out
}

// String returns the state's upper-case name, or "State(n)" for a value that
// is not a state, so that a corrupt value is visible rather than disguised.
func (s State) String() string {
	if s.valid() {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Terminal reports whether s ends a run: COMPLETE, FAILED and CANCELLED are
// absorbing, so a caller can stop driving the machine once it sees one.
func (s State) Terminal() bool {
	return s == Complete || s == Failed || s == Cancelled
}

// ParseState returns the state with the given name in any case, because
// names arrive from people (CLI flags, update payloads) as well as from
// MarshalText. The error lists the valid names so the caller can correct
// the input.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if strings.EqualFold(name, n) {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("unknown state %q: valid states are %s", name, strings.Join(stateNames[:], ", "))
}

// MarshalText returns the state's name, so that JSON and other text formats
// carry "PROCESSING" rather than a number whose meaning depends on this
// package's constant order. A value that is not a state is an error, so a
// corrupt value never reaches a client.
func (s State) MarshalText() ([]byte, error) {
	if !s.valid() {
		return nil, fmt.Errorf("cannot marshal %s: not a state", s)
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText parses a state name as ParseState does; it is the inverse
// of MarshalText.
func (s *State) UnmarshalText(text []byte) error {
	v, err := ParseState(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

func (s State) valid() bool { return s < numStates }
