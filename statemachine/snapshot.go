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
	// Completed are the completed steps, in order.
	Completed []string `json:"completed"`
	// Checkpoints are the checkpoints, checkpoint 0 (the start) first.
	Checkpoints []Checkpoint `json:"checkpoints"`
	// History is every record, oldest first.
	History []Record `json:"history"`
}

// Snapshot returns a deep copy of the machine's state: nothing in it
// aliases the machine, so the caller may encode or change it at will.
// Slices are never nil, so a snapshot and its JSON round trip compare equal.
func (m *Machine) Snapshot() Snapshot {
	return Snapshot{
		State:       m.state,
		Resumes:     m.Resumes(),
		Progress:    m.progress,
		Total:       m.total,
		Completed:   append(make([]string, 0, len(m.completed)), m.completed...),
		Checkpoints: cloneCheckpoints(m.checkpoints),
		History:     append(make([]Record, 0, len(m.history)), m.history...),
	}
}

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
		completed:   append(make([]string, 0, len(s.Completed)), s.Completed...),
		checkpoints: make([]Checkpoint, len(s.Checkpoints)),
		history:     make([]Record, len(s.History)),
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

	// History: Seq 1, 2, 3…, each record starting where the last ended.
	prev := Initial
	for i, r := range s.History {
		if r.Seq != uint64(i)+1 {
			add("history[%d] has seq %d, want %d: seq must run from 1 without gaps", i, r.Seq, i+1)
		}
		if !r.From.valid() || !r.To.valid() {
			add("history[%d] (seq %d): %s → %s is not a pair of states", i, r.Seq, r.From, r.To)
			prev = r.To
			continue
		}
		if r.From != prev {
			add("history[%d] (seq %d) starts in %s but the run was in %s", i, r.Seq, r.From, prev)
		}
		prev = r.To
	}
	if prev != s.State {
		add("the last record ends in %s but the state is %s", prev, s.State)
	}

	// Resumes.
	if s.State == Paused {
		if !(s.Resumes == Initial || s.Resumes == Processing || s.Resumes == Waiting || s.Resumes == Review) {
			add("a PAUSED run resumes to %s: it can only resume to INITIAL, PROCESSING, WAITING or REVIEW", s.Resumes)
		}
	} else if s.Resumes != s.State {
		add("resumes is %s in %s: outside PAUSED it must equal the state", s.Resumes, s.State)
	}

	// Completed steps and their checkpoints.
	notStarted := s.State == Initial || (s.State == Paused && s.Resumes == Initial)
	if notStarted && len(s.Completed) > 0 {
		add("%d step(s) completed in a run that has not started", len(s.Completed))
	}
	for i, step := range s.Completed {
		if step == "" {
			add("completed[%d] is an empty step name", i)
		}
	}
	if len(s.Checkpoints) != len(s.Completed)+1 {
		add("%d checkpoint(s) for %d completed step(s): there must be one per step plus the start", len(s.Checkpoints), len(s.Completed))
		return out
	}
	if cp := s.Checkpoints[0]; cp.Seq != 0 || cp.Step != "" || cp.Completed != 0 || cp.Progress != 0 || len(cp.Data) != 0 || !cp.At.IsZero() {
		add("checkpoints[0] must be the start (all zero), got %+v", cp)
	}
	for i := 1; i < len(s.Checkpoints); i++ {
		cp, before := s.Checkpoints[i], s.Checkpoints[i-1]
		if cp.Completed != i {
			add("checkpoints[%d] counts %d completed step(s), want %d", i, cp.Completed, i)
		}
		if cp.Step != s.Completed[i-1] {
			add("checkpoints[%d] is for step %q but completed[%d] is %q", i, cp.Step, i-1, s.Completed[i-1])
		}
		if cp.Seq <= before.Seq {
			add("checkpoints[%d] has seq %d, not after checkpoints[%d] (seq %d)", i, cp.Seq, i-1, before.Seq)
		}
		if cp.Seq < 1 || cp.Seq > uint64(len(s.History)) {
			add("checkpoints[%d] has seq %d, which is not in the history", i, cp.Seq)
		} else if r := s.History[cp.Seq-1]; r.Event != EventStepCompleted || r.Step != cp.Step || !r.At.Equal(cp.At) {
			add("checkpoints[%d] (seq %d) does not match its record: want a %s record for %q at %s",
				i, cp.Seq, EventStepCompleted, cp.Step, cp.At.UTC().Format(time.RFC3339Nano))
		}
		if cp.Progress < before.Progress || cp.Progress > 99 {
			add("checkpoints[%d] has progress %d: it must be from %d (the previous checkpoint's) to 99", i, cp.Progress, before.Progress)
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
