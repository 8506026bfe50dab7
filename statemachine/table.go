package statemachine

import "fmt"

// rule is one cell of the transition table. A refused cell carries the
// sentence that TransitionError shows, so the table is also the error text.
type rule struct {
	allowed bool
	why     string
}

// Reasons shared by several cells of the table.
const (
	whyInitial        = "INITIAL is only the starting state"
	whyCompleteUnrun  = "a run completes only after it has run a step"
	whyAlreadyPaused  = "the run is already paused"
	whyPausedComplete = "a paused run must resume before it completes"
)

var allow = rule{allowed: true}

// terminalRow refuses every move out of a terminal state: finished runs are
// absorbing, so their history and progress are final.
func terminalRow(s State) [numStates]rule {
	var row [numStates]rule
	for i := range row {
		row[i] = rule{why: s.String() + " is terminal: a finished run does not change state"}
	}
	return row
}

// table is the transition table, indexed [from][to]. It is a fixed array so
// that checking a move costs two index operations and no allocation. The
// same table, as prose, is in the package documentation; the tests spell
// out every cell independently.
var table = [numStates][numStates]rule{
	Initial: {
		Initial:    {why: whyInitial},
		Processing: allow,
		Waiting:    allow,
		Review:     allow,
		Paused:     allow,
		Complete:   {why: whyCompleteUnrun},
		Failed:     allow,
		Cancelled:  allow,
	},
	Processing: {
		Initial:    {why: whyInitial},
		Processing: allow,
		Waiting:    allow,
		Review:     allow,
		Paused:     allow,
		Complete:   allow,
		Failed:     allow,
		Cancelled:  allow,
	},
	Waiting: {
		Initial:    {why: whyInitial},
		Processing: allow,
		Waiting:    allow,
		Review:     allow,
		Paused:     allow,
		Complete:   allow,
		Failed:     allow,
		Cancelled:  allow,
	},
	Review: {
		Initial:    {why: whyInitial},
		Processing: allow,
		Waiting:    allow,
		Review:     allow,
		Paused:     allow,
		Complete:   allow,
		Failed:     allow,
		Cancelled:  allow,
	},
	Paused: {
		// INITIAL, PROCESSING, WAITING and REVIEW are allowed here only
		// as a resume: guardResume narrows them to the one state the run
		// was paused in. PAUSED → INITIAL is the single way back to
		// INITIAL, for a run paused before it started.
		Initial:    allow,
		Processing: allow,
		Waiting:    allow,
		Review:     allow,
		Paused:     {why: whyAlreadyPaused},
		Complete:   {why: whyPausedComplete},
		Failed:     allow,
		Cancelled:  allow,
	},
	Complete:  terminalRow(Complete),
	Failed:    terminalRow(Failed),
	Cancelled: terminalRow(Cancelled),
}

// Guard is a user rule that can refuse a move the table allows, for
// instance "leave REVIEW only on approve" or "no more steps once the budget
// is spent". Guards add policy without changing the table, so the table
// stays the one documented picture of what can ever happen.
type Guard struct {
	// Name identifies the guard in a refusal (TransitionError.Guard).
	Name string
	// From and To select the move the guard watches. The table must allow
	// that move; New refuses a guard that could never run.
	From, To State
	// Check returns nil to let the move happen, or an error saying why
	// not. It sees the machine before the move and must only read it.
	Check func(m *Machine, c Cause) error
}

// guardSelfStep refuses a move within a state that does not name a step:
// the only reason to stay in PROCESSING (WAITING, REVIEW) is to go on to
// another step, and a record without the step would hide which one.
func guardSelfStep(m *Machine, to State, c Cause) string {
	if m.state == to && c.Step == "" {
		return "a move within " + to.String() + " must name the step it moves to"
	}
	return ""
}

// guardResume lets a paused run leave for a non-terminal state only by
// going back to the state it was paused in, so pause/resume can never be
// used to skip a REVIEW gate or a WAITING timer. Leaving for FAILED or
// CANCELLED stays possible: a paused run may still be stopped.
func guardResume(m *Machine, to State, _ Cause) string {
	if m.state == Paused && !to.Terminal() && to != m.resumes {
		return fmt.Sprintf("resume returns to %s, the state the run was paused in", m.resumes)
	}
	return ""
}

// builtinGuards run, in order, after the table and before user guards.
var builtinGuards = [...]func(m *Machine, to State, c Cause) string{
	guardSelfStep,
	guardResume,
}

// check decides whether the move to `to` with cause c may happen, without
// changing anything. It returns nil or a *TransitionError.
func (m *Machine) check(to State, c Cause) error {
	from := m.state
	if !to.valid() {
		return &TransitionError{From: from, To: to, Event: c.Event, Why: to.String() + " is not a state"}
	}
	if r := table[from][to]; !r.allowed {
		return &TransitionError{From: from, To: to, Event: c.Event, Why: r.why}
	}
	for _, g := range builtinGuards {
		if why := g(m, to, c); why != "" {
			return &TransitionError{From: from, To: to, Event: c.Event, Why: why}
		}
	}
	return m.checkUser(to, c)
}

// checkUser runs the user guards registered for (current state, to), in
// the order Config listed them; the first refusal wins.
func (m *Machine) checkUser(to State, c Cause) error {
	for _, g := range m.guards[m.state][to] {
		if err := g.Check(m, c); err != nil {
			return &TransitionError{From: m.state, To: to, Event: c.Event, Guard: g.Name, Err: err}
		}
	}
	return nil
}
