package statemachine

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Snapshot is a machine's whole state as plain JSON-friendly data, for
// carrying a run across Temporal's continue-as-new (and for tests). Guards
// and hooks are not data: Restore takes them from a Config again.
type Snapshot struct {
	// State is the current state.
	State State `json:"state"`
	// Resumes is Machine.Resumes: the state to resume in PAUSED, State
	// otherwise.
	Resumes State `json:"resumes"`
	// Progress is the current progress, 0 to 100.
	Progress int `json:"progress"`
	// Total is the current estimate of the run's steps (Machine.Total).
	Total int `json:"total"`
	// Completed are the names of the completed steps whose checkpoints
	// are kept, in order (every completed step without a window).
	Completed []string `json:"completed"`
	// CompletedCount is the number of completed steps, kept or not. A
	// snapshot from before windows existed has none: len(Completed) is
	// the count then.
	CompletedCount int `json:"completed_count,omitempty"`
	// Checkpoints are the kept checkpoints, oldest first: checkpoint 0
	// (the start) first unless a window dropped it.
	Checkpoints []Checkpoint `json:"checkpoints"`
	// History are the kept records, oldest first: every record unless a
	// window dropped the oldest. Seq runs on without gaps from the first.
	History []Record `json:"history"`
}

// Snapshot returns a deep copy of the machine's state: nothing in it
// aliases the machine, so the caller may encode or change it at will.
// Slices are never nil, so a snapshot and its JSON round trip compare equal.
func (m *Machine) Snapshot() Snapshot {
	kept := m.kept()
	return Snapshot{
		State:          m.state,
		Resumes:        m.Resumes(),
		Progress:       m.progress,
		Total:          m.total,
		Completed:      append([]string{}, m.Completed()...),
		CompletedCount: m.done,
		Checkpoints:    cloneCheckpoints(m.checkpoints),
		History:        append(make([]Record, 0, len(kept)), kept...),
	}
}

// count is the number of completed steps the snapshot stands for.
func (s Snapshot) count() int { return max(s.CompletedCount, len(s.Completed)) }

// Restore rebuilds a machine from a snapshot, with guards and hooks from
// cfg (cfg.TotalSteps is checked but the snapshot's Total wins). It refuses
// a snapshot that no sequence of operations could have produced (a gap in
// Seq, a record that does not start where the previous one ended,
// checkpoints that do not match the completed steps, progress out of range
// or 100 outside COMPLETE…), naming every problem, because continuing from
// a corrupt state would corrupt the run's history for good. Checkpoint
// data is stored in canonical form, as CompleteStep stores it.
func Restore(s Snapshot, cfg Config) (*Machine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if problems := s.problems(); len(problems) > 0 {
		return nil, fmt.Errorf("statemachine: inconsistent snapshot: %s", strings.Join(problems, "; "))
	}
	m := &Machine{
		state:       s.State,
		resumes:     s.Resumes,
		progress:    s.Progress,
		total:       s.Total,
		done:        s.count(),
		checkpoints: make([]Checkpoint, len(s.Checkpoints)),
		history:     make([]Record, len(s.History)),
	}
	if n := len(s.History); n > 0 {
		m.seq = s.History[n-1].Seq
	}
	for i, r := range s.History {
		r.At = r.At.UTC()
		m.history[i] = r
	}
	for i, cp := range s.Checkpoints {
		data, _ := canonicalJSON(cp.Data) // validity checked by problems
		cp.Data = data
		cp.At = cp.At.UTC()
		m.checkpoints[i] = cp
	}
	m.configure(cfg)
	// A snapshot taken with a wider window (or none) is cut to this one.
	if w := m.checkWin; w > 0 && len(m.checkpoints) > w+1 {
		m.checkpoints = m.checkpoints[len(m.checkpoints)-(w+1):]
	}
	if w := m.historyWin; w > 0 && len(m.history) > w {
		m.history = m.history[len(m.history)-w:]
	}
	return m, nil
}

// problems lists every inconsistency in s; empty means Restore may use it.
func (s Snapshot) problems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	if !s.State.valid() || !s.Resumes.valid() {
		add("state %s / resumes %s: not states", s.State, s.Resumes)
		return out // everything below depends on them
	}
	if s.Progress < 0 || s.Progress > 100 {
		add("progress is %d: it must be 0 to 100", s.Progress)
	}
	if s.Progress == 100 && s.State != Complete {
		add("progress is 100 in %s: only a COMPLETE run is at 100", s.State)
	}
	if s.State == Complete && s.Progress != 100 {
		add("progress is %d in COMPLETE: a complete run is at 100", s.Progress)
	}
	if s.Total < 0 {
		add("total is %d: it must be 0 or more", s.Total)
	}

	// History: Seq n, n+1, n+2… from the first kept record (1 when none
	// was dropped), each record starting where the last ended.
	prev := Initial
	var first uint64 = 1
	if len(s.History) > 0 {
		first = max(s.History[0].Seq, 1)
	}
	for i, r := range s.History {
		if want := first + uint64(i); r.Seq != want {
			add("history[%d] has seq %d, want %d: seq must run without gaps", i, r.Seq, want)
		}
		if !r.From.valid() || !r.To.valid() {
			add("history[%d] (seq %d): %s → %s is not a pair of states", i, r.Seq, r.From, r.To)
			prev = r.To
			continue
		}
		if r.From != prev && (i > 0 || first == 1) {
			add("history[%d] (seq %d) starts in %s but the run was in %s", i, r.Seq, r.From, prev)
		}
		prev = r.To
	}
	if prev != s.State {
		add("the last record ends in %s but the state is %s", prev, s.State)
	}
	lastSeq := first + uint64(len(s.History)) - 1

	// Resumes.
	if s.State == Paused {
		if !(s.Resumes == Initial || s.Resumes == Processing || s.Resumes == Waiting || s.Resumes == Review) {
			add("a PAUSED run resumes to %s: it can only resume to INITIAL, PROCESSING, WAITING or REVIEW", s.Resumes)
		}
	} else if s.Resumes != s.State {
		add("resumes is %s in %s: outside PAUSED it must equal the state", s.Resumes, s.State)
	}

	// Completed steps and their checkpoints.
	count := s.count()
	notStarted := s.State == Initial || (s.State == Paused && s.Resumes == Initial)
	if notStarted && count > 0 {
		add("%d step(s) completed in a run that has not started", count)
	}
	for i, step := range s.Completed {
		if step == "" {
			add("completed[%d] is an empty step name", i)
		}
	}
	if len(s.Checkpoints) == 0 {
		add("no checkpoints: there must be at least the one of the last completed step or the start")
		return out
	}
	oldest := s.Checkpoints[0].Completed
	if last := s.Checkpoints[len(s.Checkpoints)-1].Completed; last != count {
		add("the last checkpoint counts %d completed step(s) but %d completed", last, count)
		return out
	}
	named := len(s.Checkpoints)
	if oldest == 0 {
		named--
	}
	if len(s.Completed) != named {
		add("%d checkpoint(s) for %d completed step name(s): there must be one per kept step plus the start, if kept", len(s.Checkpoints), len(s.Completed))
		return out
	}
	if cp := s.Checkpoints[0]; oldest == 0 && (cp.Seq != 0 || cp.Step != "" || cp.Progress != 0 || len(cp.Data) != 0 || !cp.At.IsZero()) {
		add("checkpoints[0] must be the start (all zero), got %+v", cp)
	}
	offset := len(s.Checkpoints) - named // checkpoint i is for completed[i-offset]
	for i, cp := range s.Checkpoints {
		if cp.Completed == 0 {
			continue // the start, checked above
		}
		if cp.Completed != oldest+i {
			add("checkpoints[%d] counts %d completed step(s), want %d", i, cp.Completed, oldest+i)
		}
		if name := s.Completed[i-offset]; cp.Step != name {
			add("checkpoints[%d] is for step %q but completed[%d] is %q", i, cp.Step, i-offset, name)
		}
		if i > 0 {
			before := s.Checkpoints[i-1]
			if cp.Seq <= before.Seq {
				add("checkpoints[%d] has seq %d, not after checkpoints[%d] (seq %d)", i, cp.Seq, i-1, before.Seq)
			}
			if cp.Progress < before.Progress {
				add("checkpoints[%d] has progress %d: it must be from %d (the previous checkpoint's) to 99", i, cp.Progress, before.Progress)
			}
		}
		if cp.Progress > 99 {
			add("checkpoints[%d] has progress %d: it must be 99 at most", i, cp.Progress)
		}
		if cp.Seq < 1 || cp.Seq > lastSeq {
			add("checkpoints[%d] has seq %d, which is not in the history", i, cp.Seq)
		} else if cp.Seq >= first {
			if r := s.History[cp.Seq-first]; r.Event != EventStepCompleted || r.Step != cp.Step || !r.At.Equal(cp.At) {
				add("checkpoints[%d] (seq %d) does not match its record: want a %s record for %q at %s",
					i, cp.Seq, EventStepCompleted, cp.Step, cp.At.UTC().Format(time.RFC3339Nano))
			}
		}
		if len(cp.Data) > 0 && !json.Valid(cp.Data) {
			add("checkpoints[%d] data is not valid JSON", i)
		}
	}
	if last := s.Checkpoints[len(s.Checkpoints)-1]; s.State != Complete && s.Progress != last.Progress {
		add("progress is %d but the last checkpoint's is %d: progress only changes at a checkpoint, a rollback or COMPLETE", s.Progress, last.Progress)
	}
	return out
}
