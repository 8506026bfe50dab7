package statemachine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Checkpoint is the run as it stood right after a step completed: how many
// steps were done, the progress, and the caller's data at that moment.
// Rollback returns one so the caller can restore its data; the machine
// restores the rest itself. Checkpoint 0 is the start: nothing completed,
// progress 0, no data, Seq 0 and a zero At.
type Checkpoint struct {
	// Seq is the Seq of the step_completed record that took it (0 for the
	// start).
	Seq uint64 `json:"seq"`
	// Step is the step that had just completed ("" for the start).
	Step string `json:"step"`
	// Completed is the number of completed steps, this one included; it is
	// also the checkpoint's index in Checkpoints.
	Completed int `json:"completed"`
	// Progress is the progress right after the step.
	Progress int `json:"progress"`
	// Data is the caller's data snapshot, stored compact and escaped the
	// way encoding/json writes it so that it round-trips byte for byte.
	Data json.RawMessage `json:"data,omitempty"`
	// At is the time of the step_completed record, in UTC.
	At time.Time `json:"at"`
}

// CompleteStep records that step finished, with `remaining` the number of
// steps the caller still expects (its current best estimate: conditional
// paths and parallel branches are counted by the caller), and data the
// caller's state to restore on a rollback to this point. It appends a
// step_completed record (From == To == the current state), recomputes
// progress and returns the new checkpoint. Hooks do not run: the state
// does not change. User guards are not consulted either, since this is
// progress within a state rather than a move.
//
// It is allowed in PROCESSING, WAITING, REVIEW and PAUSED (an activity
// started before a pause may finish while paused) and refused with a
// *TransitionError in INITIAL, in a run paused before it started, and in a
// terminal state, because in those no step can be running. An empty step, a
// negative remaining or data that is not JSON is refused with a plain
// error. A refusal changes nothing.
func (m *Machine) CompleteStep(step string, remaining int, data json.RawMessage, at time.Time) (Checkpoint, error) {
	return m.CompleteStepWith(step, remaining, data, Cause{}, at)
}

// CompleteStepWith is CompleteStep with the record's cause: an operator's
// skip records EventSkip with who and why. c.Step is ignored (step names
// the step); an empty c.Event is EventStepCompleted.
func (m *Machine) CompleteStepWith(step string, remaining int, data json.RawMessage, cause Cause, at time.Time) (Checkpoint, error) {
	step = clean(step)
	cause = cleanCause(cause)
	cause.Step = step
	if cause.Event == "" {
		cause.Event = EventStepCompleted
	}
	if why := m.noStepRunning(); why != "" {
		return Checkpoint{}, &TransitionError{From: m.state, To: m.state, Event: EventStepCompleted, Why: why}
	}
	if step == "" {
		return Checkpoint{}, errors.New("statemachine: complete step: the step name is empty")
	}
	if remaining < 0 {
		return Checkpoint{}, fmt.Errorf("statemachine: complete step %q: remaining is %d, it must be 0 or more", step, remaining)
	}
	stored, err := canonicalJSON(data)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("statemachine: complete step %q: data is not valid JSON: %w", step, err)
	}

	rec := m.record(m.state, m.state, cause, at)
	m.done++
	c := m.done
	m.total = c + remaining
	if m.total < c { // overflow: an absurd estimate still means "more than we can count"
		m.total = math.MaxInt
	}
	m.progress = nextProgress(m.progress, c, remaining)
	cp := Checkpoint{Seq: rec.Seq, Step: step, Completed: c, Progress: m.progress, Data: stored, At: rec.At}
	m.checkpoints = append(m.checkpoints, cp)
	if w := m.checkWin; w > 0 && len(m.checkpoints) > w+1 {
		// Shift rather than reslice, so the dropped data can be collected
		// and the array does not grow with the run.
		n := copy(m.checkpoints, m.checkpoints[len(m.checkpoints)-(w+1):])
		clear(m.checkpoints[n:])
		m.checkpoints = m.checkpoints[:n]
	}
	cp.Data = slices.Clone(stored) // the caller's copy must not alias the machine's
	return cp, nil
}

// noStepRunning says why no step can complete in the current state, or ""
// when one can.
func (m *Machine) noStepRunning() string {
	switch {
	case m.state.Terminal():
		return table[m.state][m.state].why
	case m.state == Initial:
		return "no step has started: the run is still INITIAL"
	case m.state == Paused && m.resumes == Initial:
		return "no step has started: the run was paused before it began"
	}
	return ""
}

// nextProgress applies the progress rule: the share of steps done,
// floor(100*c/(c+remaining)), but never below the previous value (a grown
// estimate must not make a run look as if it went backwards) and never
// above 99 (only COMPLETE is 100).
func nextProgress(prev, c, remaining int) int {
	p := int(100 * uint64(c) / (uint64(c) + uint64(remaining))) // uint64: c+remaining cannot overflow
	return min(99, max(prev, p))
}

// Rollback undoes the last n completed steps: with k completed, it
// restores checkpoint k-n (checkpoint 0 is the start) and returns it so the
// caller can restore its Data. Completed steps and checkpoints after the
// target are dropped, progress becomes the target's, and the run goes to
// PROCESSING to redo the work; a paused run stays PAUSED and will resume to
// PROCESSING. The rollback is itself recorded (EventRollback, Step = the
// target's step, reason or a default); history is never truncated. Hooks
// run if the state changed, and user guards on the move are consulted.
//
// Every refusal matches ErrRollback and changes nothing. A refusal because
// of the state the run is in (INITIAL, paused before it began, terminal) or
// because a user guard refused is also a *TransitionError matching
// ErrIllegalTransition; a bad n (below 1, above k) or nothing completed yet
// is a plain error saying how many steps are available.
func (m *Machine) Rollback(n int, reason string, at time.Time) (Checkpoint, error) {
	return m.RollbackWith(n, Cause{Reason: reason}, at)
}

// RollbackWith is Rollback with who asked (c.Reason and c.Who).
func (m *Machine) RollbackWith(n int, c Cause, at time.Time) (Checkpoint, error) {
	target, to, err := m.rollbackTarget(n, c.Reason)
	if err != nil {
		return Checkpoint{}, err
	}
	c = Cause{Step: target.Step, Event: EventRollback, Reason: clean(c.Reason), Who: clean(c.Who)}
	if c.Reason == "" {
		c.Reason = "rolled back " + strconv.Itoa(n) + " step(s) to "
		if target.Completed == 0 {
			c.Reason += "the start"
		} else {
			c.Reason += "the checkpoint after " + strconv.Quote(target.Step)
		}
	}
	if err := m.checkUser(to, c); err != nil {
		var te *TransitionError
		if errors.As(err, &te) {
			te.Err = fmt.Errorf("%w: %w", ErrRollback, te.Err)
		}
		return Checkpoint{}, err
	}

	from := m.state
	idx := target.Completed - m.checkpoints[0].Completed
	m.done = target.Completed
	clear(m.checkpoints[idx+1:]) // let the dropped data be collected
	m.checkpoints = m.checkpoints[:idx+1]
	m.progress = target.Progress
	if from == Paused {
		m.resumes = Processing
	}
	rec := m.record(from, to, c, at)
	m.state = to
	m.runHooks(rec)
	target.Data = slices.Clone(target.Data)
	return target, nil
}

// CanRollback says whether Rollback(n, …) would be allowed now, without
// changing anything (user guards aside, which see the move's cause): nil
// or the error Rollback would return.
func (m *Machine) CanRollback(n int) error {
	_, _, err := m.rollbackTarget(n, "")
	return err
}

// rollbackTarget finds the checkpoint that undoing n steps returns to,
// and the state the run moves to, or the refusal.
func (m *Machine) rollbackTarget(n int, _ string) (Checkpoint, State, error) {
	from := m.state
	to := Processing
	if from == Paused {
		to = Paused
	}
	refuse := func(why string) error {
		return &TransitionError{From: from, To: to, Event: EventRollback, Why: why, Err: ErrRollback}
	}
	switch {
	case from.Terminal():
		return Checkpoint{}, to, refuse("cannot roll back: " + table[from][from].why)
	case from == Initial || (from == Paused && m.resumes == Initial):
		return Checkpoint{}, to, refuse("nothing to roll back: no step has started")
	}
	k := m.done
	oldest := m.checkpoints[0].Completed
	switch {
	case n < 1:
		return Checkpoint{}, to, fmt.Errorf("%w: the number of steps must be at least 1, got %d", ErrRollback, n)
	case k == 0:
		return Checkpoint{}, to, fmt.Errorf("%w: nothing to roll back: no step has completed yet", ErrRollback)
	case n > k:
		return Checkpoint{}, to, fmt.Errorf("%w: cannot roll back %d step(s): only %d completed", ErrRollback, n, k)
	case k-n < oldest:
		return Checkpoint{}, to, fmt.Errorf("%w: cannot roll back %d step(s): the run keeps checkpoints for its last %d completed step(s) only (the checkpoint window)", ErrRollback, n, k-oldest)
	}
	return m.checkpoints[k-n-oldest], to, nil
}

// Progress returns the run's progress, 0 to 100; see the package
// documentation for the rule.
func (m *Machine) Progress() int { return m.progress }

// Total returns the current estimate of the number of steps the run will
// complete: Config.TotalSteps until the first CompleteStep, then completed
// + remaining as last reported (a rollback keeps it: the run's length did
// not change), and the real count once COMPLETE.
func (m *Machine) Total() int { return m.total }

// Completed returns the names of the completed steps whose checkpoints
// are kept, in order, as a copy: every completed step without a
// Config.CheckpointWindow.
func (m *Machine) Completed() []string {
	var out []string
	for _, cp := range m.checkpoints {
		if cp.Completed > 0 {
			out = append(out, cp.Step)
		}
	}
	return out
}

// CompletedCount returns the number of completed steps.
func (m *Machine) CompletedCount() int { return m.done }

// Checkpoints returns a deep copy of the kept checkpoints, oldest first.
// Without a Config.CheckpointWindow checkpoint 0 (the start) is first and
// there is one more than CompletedCount; with one, at most
// CheckpointWindow+1 are kept.
func (m *Machine) Checkpoints() []Checkpoint { return cloneCheckpoints(m.checkpoints) }

func cloneCheckpoints(cps []Checkpoint) []Checkpoint {
	out := make([]Checkpoint, len(cps))
	for i, cp := range cps {
		cp.Data = slices.Clone(cp.Data)
		out[i] = cp
	}
	return out
}

// canonicalJSON checks data and returns a private copy in the form
// encoding/json writes a json.RawMessage (compact, with <, >, &, U+2028 and
// U+2029 escaped), so that the checkpoint's bytes survive a snapshot's
// JSON round trip unchanged. Empty data is stored as nil.
func canonicalJSON(data []byte) (json.RawMessage, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	if err := json.Compact(&buf, data); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	if needsHTMLEscape(out) {
		var esc bytes.Buffer
		json.HTMLEscape(&esc, out)
		out = esc.Bytes()
	}
	return out, nil
}

// needsHTMLEscape reports whether json.HTMLEscape would change b.
func needsHTMLEscape(b []byte) bool {
	return bytes.ContainsAny(b, "<>&") || bytes.Contains(b, []byte("\u2028")) || bytes.Contains(b, []byte("\u2029"))
}
