package statemachine

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is everything a Machine needs besides its run's events. It is
// plain data plus callbacks so that a workflow can build it from its plan
// deterministically; New checks it and says exactly what is wrong.
type Config struct {
	// TotalSteps is the first estimate of how many steps the run will
	// complete, reported by Total until the first CompleteStep brings a
	// better one (completed + remaining). Progress does not use it: with
	// nothing completed, progress is 0 whatever the estimate. It must be 0
	// or more.
	TotalSteps int
	// Guards are user rules that can refuse moves the table allows. They
	// run after the built-in rules, in this order; the first refusal wins.
	Guards []Guard
	// OnEnter holds a hook per state, run after a move into that state
	// from a different state. Hooks cannot refuse a move; guards do that.
	OnEnter map[State]func(Record)
	// OnExit holds a hook per state, run after a move out of that state to
	// a different state, before the OnEnter hook of the new state. Hooks
	// may read the machine but must not change it: the exit and entry
	// hooks of one move would no longer see the same move.
	OnExit map[State]func(Record)
	// OnRecord, when set, sees every record the machine makes, moves and
	// notes alike, as it makes them (before a move's state hooks): to
	// count them, say. Like the hooks it must not change the machine.
	OnRecord func(Record)
	// HistoryWindow bounds the records the machine keeps (and a snapshot
	// carries) to the newest HistoryWindow, except the records from
	// KeepFrom on, which stay until the caller has saved them. Seq goes on
	// counting; dropped records are the caller's to keep elsewhere. 0 keeps
	// every record (a run that never continues as new).
	HistoryWindow int
	// CheckpointWindow bounds the checkpoints kept to those of the newest
	// CheckpointWindow completed steps (plus the one before them), so
	// Rollback can undo at most that many steps. 0 keeps every checkpoint.
	CheckpointWindow int
}

// validate reports every problem in c at once, so a caller fixes its
// configuration in one pass.
func (c Config) validate() error {
	var problems []string
	if c.TotalSteps < 0 {
		problems = append(problems, fmt.Sprintf("TotalSteps is %d: it must be 0 or more", c.TotalSteps))
	}
	if c.HistoryWindow < 0 {
		problems = append(problems, fmt.Sprintf("HistoryWindow is %d: it must be 0 (keep all) or more", c.HistoryWindow))
	}
	if c.CheckpointWindow < 0 {
		problems = append(problems, fmt.Sprintf("CheckpointWindow is %d: it must be 0 (keep all) or more", c.CheckpointWindow))
	}
	firstUse := make(map[string]int, len(c.Guards))
	for i, g := range c.Guards {
		where := fmt.Sprintf("Guards[%d] %q", i, g.Name)
		if g.Name == "" {
			problems = append(problems, where+": the name is empty; a refusal must be able to name its guard")
		} else if j, dup := firstUse[g.Name]; dup {
			problems = append(problems, fmt.Sprintf("%s: the name is already used by Guards[%d]; a refusal must name one guard", where, j))
		} else {
			firstUse[g.Name] = i
		}
		if g.Check == nil {
			problems = append(problems, where+": Check is nil")
		}
		switch {
		case !g.From.valid() || !g.To.valid():
			problems = append(problems, fmt.Sprintf("%s: %s → %s is not a pair of states", where, g.From, g.To))
		case !table[g.From][g.To].allowed:
			problems = append(problems, fmt.Sprintf("%s: the table never allows %s → %s (%s), so the guard could never run",
				where, g.From, g.To, table[g.From][g.To].why))
		}
	}
	problems = append(problems, invalidHookStates("OnEnter", c.OnEnter)...)
	problems = append(problems, invalidHookStates("OnExit", c.OnExit)...)
	if len(problems) > 0 {
		return fmt.Errorf("statemachine: invalid config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// invalidHookStates names hook keys that are not states. It probes every
// possible State value instead of ranging over the map so that the
// message is the same on every run (workflow code must be deterministic).
func invalidHookStates(field string, hooks map[State]func(Record)) []string {
	if len(hooks) == 0 {
		return nil
	}
	var out []string
	for i := int(numStates); i <= 0xff; i++ {
		if _, ok := hooks[State(i)]; ok {
			out = append(out, fmt.Sprintf("%s has a hook for %s, which is not a state", field, State(i)))
		}
	}
	return out
}

// Machine is the state machine of one run: its state, its append-only
// history, the steps it has completed with a checkpoint after each, and its
// progress. Every method is deterministic (time is passed in) and a
// refused operation changes nothing, so a Temporal workflow can drive it
// and replay it. A Machine is not safe for concurrent use; a workflow's
// coroutines never run at the same time, so it needs no lock.
type Machine struct {
	state    State
	resumes  State // the state a resume returns to; meaningful in PAUSED
	progress int
	total    int
	seq      uint64   // the Seq of the newest record
	history  []Record // the kept records, oldest first; see kept
	done     int      // the number of completed steps
	// checkpoints are the kept checkpoints, oldest first; the last is the
	// one after `done` completed steps, and each counts one more than the
	// one before it.
	checkpoints []Checkpoint
	keepFrom    uint64 // records from this Seq on are kept beyond the window
	historyWin  int
	checkWin    int

	guards   [numStates][numStates][]Guard
	onEnter  [numStates]func(Record)
	onExit   [numStates]func(Record)
	onRecord func(Record)
}

// New returns a machine in INITIAL with an empty history, nothing
// completed, progress 0 and checkpoint 0 (the start, with no data), or an
// error naming every problem in cfg.
func New(cfg Config) (*Machine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Machine{
		total:       cfg.TotalSteps,
		checkpoints: []Checkpoint{{}},
	}
	m.configure(cfg)
	return m, nil
}

// configure copies guards and hooks into arrays indexed by state, so a
// move finds its guards and hooks by indexing, without a map lookup or a
// scan, and later changes to cfg do not reach the machine.
func (m *Machine) configure(cfg Config) {
	m.historyWin, m.checkWin = cfg.HistoryWindow, cfg.CheckpointWindow
	for _, g := range cfg.Guards {
		m.guards[g.From][g.To] = append(m.guards[g.From][g.To], g)
	}
	for s := range State(numStates) {
		m.onEnter[s] = cfg.OnEnter[s]
		m.onExit[s] = cfg.OnExit[s]
	}
	m.onRecord = cfg.OnRecord
}

// State returns the state the run is in.
func (m *Machine) State() State { return m.state }

// Resumes returns the state Resume would return to: in PAUSED, the state
// the run was paused in (PROCESSING after a rollback while paused); in any
// other state, the state itself, since there is nothing to resume.
func (m *Machine) Resumes() State {
	if m.state == Paused {
		return m.resumes
	}
	return m.state
}

// Transition moves the run to `to` if the table, the built-in guards and
// the user guards all allow it, records the move and runs the exit and
// entry hooks. A refusal is a *TransitionError matching
// ErrIllegalTransition and leaves the machine as it was. Entering COMPLETE
// sets progress to 100; entering PAUSED remembers the state to resume.
//
// Strings in c that are not valid UTF-8 are stored with U+FFFD in place of
// the bad bytes, as encoding/json would write them, so that a snapshot
// round-trips exactly.
func (m *Machine) Transition(to State, c Cause, at time.Time) (Record, error) {
	c = cleanCause(c)
	if err := m.check(to, c); err != nil {
		return Record{}, err
	}
	return m.move(to, c, at), nil
}

// Check says whether Transition(to, c) would be allowed now, without
// changing anything: nil, or the *TransitionError Transition would return.
// An operator's request is validated with it before it is accepted.
func (m *Machine) Check(to State, c Cause) error {
	return m.check(to, cleanCause(c))
}

// Note records an event that does not move the run (From == To == the
// state): an operator's change of plan, a compensation, a signal the run
// could not act on. It is refused in a terminal state (a finished run's
// history is final) and when c has no Event. Progress, checkpoints and
// hooks are untouched.
func (m *Machine) Note(c Cause, at time.Time) (Record, error) {
	c = cleanCause(c)
	if m.state.Terminal() {
		return Record{}, &TransitionError{From: m.state, To: m.state, Event: c.Event, Why: table[m.state][m.state].why}
	}
	if c.Event == "" {
		return Record{}, errors.New("statemachine: note: the event is empty")
	}
	return m.record(m.state, m.state, c, at), nil
}

// Pause moves the run to PAUSED and remembers the state to resume. The
// record keeps the current step so the history shows where the run stopped.
func (m *Machine) Pause(reason string, at time.Time) (Record, error) {
	return m.PauseWith(Cause{Reason: reason}, at)
}

// PauseWith is Pause with who asked (c.Reason and c.Who); an empty
// c.Step is the current one (Step), and the event is the machine's.
func (m *Machine) PauseWith(c Cause, at time.Time) (Record, error) {
	if c.Step == "" {
		c.Step = m.Step()
	}
	c.Event = EventPause
	return m.Transition(Paused, c, at)
}

// Resume moves a paused run back to the state it was paused in
// (Resumes). Outside PAUSED it is refused: only a paused run resumes.
func (m *Machine) Resume(reason string, at time.Time) (Record, error) {
	return m.ResumeWith(Cause{Reason: reason}, at)
}

// ResumeWith is Resume with who asked.
func (m *Machine) ResumeWith(c Cause, at time.Time) (Record, error) {
	if m.state != Paused {
		why := m.state.String() + " is not paused: only a paused run resumes"
		if m.state.Terminal() {
			why = table[m.state][m.state].why
		}
		return Record{}, &TransitionError{From: m.state, To: m.state, Event: EventResume, Why: why}
	}
	if c.Step == "" {
		c.Step = m.Step()
	}
	c.Event = EventResume
	return m.Transition(m.resumes, c, at)
}

// Cancel moves the run to CANCELLED, the end of a run someone stopped.
func (m *Machine) Cancel(reason string, at time.Time) (Record, error) {
	return m.CancelWith(Cause{Reason: reason}, at)
}

// CancelWith is Cancel with who asked.
func (m *Machine) CancelWith(c Cause, at time.Time) (Record, error) {
	if c.Step == "" {
		c.Step = m.Step()
	}
	c.Event = EventCancel
	return m.Transition(Cancelled, c, at)
}

// Fail moves the run to FAILED. step names the step that failed; empty
// means the current one (Step), so the record always says where.
func (m *Machine) Fail(step, reason string, at time.Time) (Record, error) {
	return m.FailWith(Cause{Step: step, Reason: reason}, at)
}

// FailWith is Fail with who asked (an operator's transition to FAILED);
// c.Step empty means the current step.
func (m *Machine) FailWith(c Cause, at time.Time) (Record, error) {
	if c.Step == "" {
		c.Step = m.Step()
	}
	c.Event = EventFail
	return m.Transition(Failed, c, at)
}

// Complete moves the run to COMPLETE; progress becomes 100 and Total
// becomes the number of steps actually completed, since a finished run
// knows its real length.
func (m *Machine) Complete(at time.Time) (Record, error) {
	return m.Transition(Complete, Cause{Step: m.Step(), Event: EventComplete}, at)
}

// move applies a move that has passed every check.
func (m *Machine) move(to State, c Cause, at time.Time) Record {
	from := m.state
	rec := m.record(from, to, c, at)
	if to == Paused && from != Paused {
		m.resumes = from
	}
	m.state = to
	if to == Complete {
		m.progress = 100
		m.total = m.done
	}
	m.runHooks(rec)
	return rec
}

// runHooks runs the exit hook of the old state, then the entry hook of the
// new one, only when the state changed: a step change within PROCESSING
// neither leaves nor enters it. The machine has already changed, so a hook
// sees the new state.
func (m *Machine) runHooks(rec Record) {
	if rec.From == rec.To {
		return
	}
	if f := m.onExit[rec.From]; f != nil {
		f(rec)
	}
	if f := m.onEnter[rec.To]; f != nil {
		f(rec)
	}
}

// cleanCause replaces invalid UTF-8 the way encoding/json does, so what
// the machine stores is exactly what a snapshot's JSON gives back.
func cleanCause(c Cause) Cause {
	c.Step = clean(c.Step)
	c.Event = Event(clean(string(c.Event)))
	c.Reason = clean(c.Reason)
	return c
}

// clean returns s unchanged (without allocating) when it is valid UTF-8.
func clean(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
