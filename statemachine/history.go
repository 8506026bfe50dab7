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
	// Who asked for the move, for an operator's operation ("" for the
	// engine's own moves).
	Who string `json:"who,omitempty"`
	// At is when it happened, in UTC, as the caller's clock (in a workflow,
	// workflow.Now) said.
	At time.Time `json:"at"`
}

// record appends a record for a move that has passed every check. Times are
// stored in UTC without a monotonic reading so that every record prints
// the same way and survives a JSON round trip unchanged.
func (m *Machine) record(from, to State, c Cause, at time.Time) Record {
	m.seq++
	rec := Record{
		Seq:    m.seq,
		From:   from,
		To:     to,
		Step:   c.Step,
		Event:  c.Event,
		Reason: c.Reason,
		Who:    c.Who,
		At:     at.UTC(),
	}
	m.history = append(m.history, rec)
	m.compactHistory()
	if m.onRecord != nil {
		m.onRecord(rec)
	}
	return rec
}

// keptStart is the index in m.history of the oldest record the machine
// still shows: the newest HistoryWindow records, and every record from
// keepFrom on. Records before it are dead and dropped by compactHistory.
func (m *Machine) keptStart() int {
	n := len(m.history)
	if m.historyWin == 0 || n <= m.historyWin {
		return 0
	}
	start := n - m.historyWin
	if m.keepFrom > 0 {
		// Records are contiguous by Seq, so the index of keepFrom is
		// computed, not searched.
		first := m.history[0].Seq
		if m.keepFrom <= first {
			return 0
		}
		if idx := int(m.keepFrom - first); idx < start {
			start = idx
		}
	}
	return start
}

// kept returns the records the machine shows, without copying.
func (m *Machine) kept() []Record { return m.history[m.keptStart():] }

// compactHistory drops dead records once they are as many as the window,
// so that appending stays amortised O(1) and memory stays within twice
// what the machine shows.
func (m *Machine) compactHistory() {
	start := m.keptStart()
	if start == 0 || start < m.historyWin {
		return
	}
	n := copy(m.history, m.history[start:])
	clear(m.history[n:])
	m.history = m.history[:n]
}

// KeepFrom tells the machine that records from seq on are not saved
// anywhere else yet, so it keeps them even beyond Config.HistoryWindow
// until a later KeepFrom moves the mark. A workflow calls it at the start
// of each run of a continue-as-new chain with the next Seq, so that the
// records of one run all travel into the next one's input and the trail
// stays complete. 0 (the default) keeps only the window.
func (m *Machine) KeepFrom(seq uint64) {
	m.keepFrom = seq
	m.compactHistory()
}

// History returns a copy of the kept records, oldest first (nil when there
// are none), so the caller may keep or change it without touching the
// machine. Without a Config.HistoryWindow that is every record.
func (m *Machine) History() []Record { return append([]Record(nil), m.kept()...) }

// HistoryPage returns up to limit kept records with Seq at least from,
// oldest first (limit <= 0: no limit). Records older than the kept ones
// are not here: the caller saved them when they left the window.
func (m *Machine) HistoryPage(from uint64, limit int) []Record {
	kept := m.kept()
	if len(kept) == 0 {
		return nil
	}
	i := 0
	if first := kept[0].Seq; from > first {
		i = int(min(from-first, uint64(len(kept))))
	}
	page := kept[i:]
	if limit > 0 && len(page) > limit {
		page = page[:limit]
	}
	return append([]Record(nil), page...)
}

// Seq returns the Seq of the newest record (0 before the first).
func (m *Machine) Seq() uint64 { return m.seq }

// Len returns the Seq of the newest record: the number of records the run
// has made, kept or not.
func (m *Machine) Len() int { return int(m.seq) }

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
