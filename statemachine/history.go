package statemachine

import "time"

// Record is one entry of a run's history: a move between states or, with
// From == To and EventStepCompleted, a step that finished. History is
// append-only and Seq runs 1, 2, 3… without gaps, so a reader (the Redis
// projection) can apply records idempotently by Seq and detect a gap.
type Record struct {
	// Seq is the record's position in history, starting at 1.
	Seq uint64 `json:"seq"`
	// From is the state before the record.
	From State `json:"from"`
	// To is the state after the record.
	To State `json:"to"`
	// Step is the step the record concerns ("" when none).
	Step string `json:"step"`
	// Event is what caused the record.
	Event Event `json:"event"`
	// Reason is the human explanation given, if any.
	Reason string `json:"reason"`
	// At is when it happened, in UTC, as the caller's clock (in a workflow,
	// workflow.Now) said.
	At time.Time `json:"at"`
}

// record appends a record for a move that has passed every check. Times are
// stored in UTC without a monotonic reading so that every record prints
// the same way and survives a JSON round trip unchanged.
func (m *Machine) record(from, to State, c Cause, at time.Time) Record {
	rec := Record{
		Seq:    uint64(len(m.history)) + 1,
		From:   from,
		To:     to,
		Step:   c.Step,
		Event:  c.Event,
		Reason: c.Reason,
		At:     at.UTC(),
	}
	m.history = append(m.history, rec)
	return rec
}

// History returns a copy of every record, oldest first (nil when there are
// none), so the caller may keep or change it without touching the machine.
func (m *Machine) History() []Record { return append([]Record(nil), m.history...) }

// Len returns the number of records, which is also the Seq of the last one.
func (m *Machine) Len() int { return len(m.history) }

// Last returns the newest record, and false when nothing has happened yet.
func (m *Machine) Last() (Record, bool) {
	if len(m.history) == 0 {
		return Record{}, false
	}
	return m.history[len(m.history)-1], true
}

// Step returns the step named by the newest record, or "" before the first
// one: it is the step the run is at, as queries report it.
func (m *Machine) Step() string {
	if len(m.history) == 0 {
		return ""
	}
	return m.history[len(m.history)-1].Step
}
