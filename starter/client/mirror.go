package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/statemachine"
)

// Mirror is a run's copy in Redis as `starter projection verify` compares
// it: its progress hash and its history list.
type Mirror struct {
	Progress contract.Progress
	History  []contract.Record
}

// Truth is what Temporal says of a run: the progress query's answer and
// the records of its whole trail (Client.Trail).
type Truth struct {
	Progress contract.Progress
	Records  []contract.Record
	// FirstRunID is the first run of the run's continue-as-new chain:
	// the Chain that the run's own writes carry.
	FirstRunID string
}

// CompareProgress lists, field by field, how the mirror's progress differs
// from Temporal's; nil when they are the same.
func CompareProgress(mirror, truth contract.Progress) []string {
	var diffs []string
	field := func(name string, m, t any) {
		if m != t {
			diffs = append(diffs, fmt.Sprintf("progress %s: redis %v, temporal %v", name, quoted(m), quoted(t)))
		}
	}
	field("workflow_id", mirror.WorkflowID, truth.WorkflowID)
	field("run_id", mirror.RunID, truth.RunID)
	field("definition", mirror.Definition, truth.Definition)
	field("status", mirror.Status, truth.Status)
	field("current_steps", "["+strings.Join(mirror.CurrentSteps, ",")+"]", "["+strings.Join(truth.CurrentSteps, ",")+"]")
	field("progress_percentage", mirror.ProgressPercentage, truth.ProgressPercentage)
	field("is_complete", mirror.IsComplete, truth.IsComplete)
	field("completed_steps", mirror.CompletedSteps, truth.CompletedSteps)
	field("total_steps", mirror.TotalSteps, truth.TotalSteps)
	field("paused", mirror.Paused, truth.Paused)
	field("error", mirror.Error, truth.Error)
	if !mirror.UpdatedAt.Equal(truth.UpdatedAt) {
		field("updated_at", mirror.UpdatedAt.UTC().Format(time.RFC3339Nano), truth.UpdatedAt.UTC().Format(time.RFC3339Nano))
	}
	field("seq", mirror.Seq, truth.Seq)
	return diffs
}

func quoted(v any) any {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return v
}

// NewestRecords returns the newest max records of trail (all when max is
// negative), as the mirror's list keeps them; only the contiguous run of
// records at the end, since the list holds no gaps.
func NewestRecords(trail []contract.Record, max int) []contract.Record {
	start := len(trail) - 1
	for start > 0 && trail[start-1].Seq+1 == trail[start].Seq {
		start--
	}
	if start < 0 {
		return nil
	}
	out := trail[start:]
	if max >= 0 && len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

// CompareHistory lists how the mirror's history list differs from want,
// the records it should hold (NewestRecords of the trail): a list that
// repeats or skips a seq, seqs missing from it or extra in it, and
// records that differ. nil when they are the same.
func CompareHistory(list, want []contract.Record) []string {
	var diffs []string
	for i := 1; i < len(list); i++ {
		prev, seq := list[i-1].Seq, list[i].Seq
		switch {
		case seq <= prev:
			diffs = append(diffs, fmt.Sprintf("history list repeats or reorders: seq %d after seq %d", seq, prev))
		case seq > prev+1:
			diffs = append(diffs, fmt.Sprintf("history list skips %s", seqRange(prev+1, seq-1)))
		}
	}
	have := make(map[uint64]contract.Record, len(list))
	for _, r := range list {
		have[r.Seq] = r
	}
	wanted := make(map[uint64]bool, len(want))
	var missing []uint64
	for _, w := range want {
		wanted[w.Seq] = true
		r, ok := have[w.Seq]
		if !ok {
			missing = append(missing, w.Seq)
			continue
		}
		if d := compareRecord(r, w); d != "" {
			diffs = append(diffs, fmt.Sprintf("history seq %d differs: %s", w.Seq, d))
		}
	}
	var extra []uint64
	for _, r := range list {
		if !wanted[r.Seq] && !slices.Contains(extra, r.Seq) {
			extra = append(extra, r.Seq)
		}
	}
	for _, rg := range ranges(missing) {
		diffs = append(diffs, "history missing from redis: "+rg)
	}
	for _, rg := range ranges(extra) {
		diffs = append(diffs, "history extra in redis: "+rg)
	}
	return diffs
}

// compareRecord names the fields in which a mirrored record differs from
// Temporal's, "" when none.
func compareRecord(m, t contract.Record) string {
	var parts []string
	add := func(name string, mv, tv any) {
		if mv != tv {
			parts = append(parts, fmt.Sprintf("%s redis %v, temporal %v", name, quoted(mv), quoted(tv)))
		}
	}
	add("from", m.From.String(), t.From.String())
	add("to", m.To.String(), t.To.String())
	add("step", m.Step, t.Step)
	add("event", string(m.Event), string(t.Event))
	add("reason", m.Reason, t.Reason)
	if !m.At.Equal(t.At) {
		add("at", m.At.UTC().Format(time.RFC3339Nano), t.At.UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, "; ")
}

// ranges writes ascending seqs as ranges: "seq 4", "seqs 1-3".
func ranges(seqs []uint64) []string {
	slices.Sort(seqs)
	var out []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		out = append(out, seqRange(seqs[i], seqs[j]))
		i = j + 1
	}
	return out
}

func seqRange(from, to uint64) string {
	if from == to {
		return fmt.Sprintf("seq %d", from)
	}
	return fmt.Sprintf("seqs %d-%d", from, to)
}

// Compare lists every difference between a run's mirror and Temporal's
// truth; maxHistory is how many records the mirror keeps (negative: all).
// A nil mirror is a run that Redis does not have.
func Compare(mirror *Mirror, truth Truth, maxHistory int) []string {
	if mirror == nil {
		return []string{fmt.Sprintf("not in redis (temporal is at seq %d, %s)", truth.Progress.Seq, truth.Progress.Status)}
	}
	diffs := CompareProgress(mirror.Progress, truth.Progress)
	return append(diffs, CompareHistory(mirror.History, NewestRecords(truth.Records, maxHistory))...)
}

// Check is the result of comparing one run.
type Check struct {
	WorkflowID string
	// Differences is empty when the mirror matches Temporal.
	Differences []string
	// Tries is how many comparisons it took (more than one while the run
	// moved).
	Tries int
}

// Settle bounds how long Verify and Rebuild wait for a moving run: they
// compare (or read) again every SettleEvery, SettleTries times in all.
var (
	SettleTries = 6
	SettleEvery = 400 * time.Millisecond
)

// Verify compares the mirror of workflowID in Redis (through r) with
// Temporal's progress query and trail. A run that moves while it is
// compared (its Temporal seq or run ID changes, or Redis is behind
// Temporal) is compared again, up to SettleTries times, before its
// differences are reported. An error means a side could not be read.
func (c *Client) Verify(ctx context.Context, r *projection.Reader, opts projection.Options, workflowID string) (Check, error) {
	opts = opts.WithDefaults()
	check := Check{WorkflowID: workflowID}
	for {
		check.Tries++
		diffs, moving, err := c.compareOnce(ctx, r, opts, workflowID)
		switch {
		case err != nil && (!busy(err) || check.Tries >= busyTries):
			return check, err
		case err != nil:
			// A worker that was slow to answer may answer next time.
		case len(diffs) == 0 || !moving || check.Tries >= SettleTries:
			check.Differences = diffs
			return check, nil
		}
		select {
		case <-ctx.Done():
			return check, ctx.Err()
		case <-time.After(SettleEvery):
		}
	}
}

// busyTries bounds the tries of a run whose queries get no answer: each
// waits QueryTimeout, and without a worker none will come.
const busyTries = 3

// busy reports whether err is a query (or call) that got no answer in
// time: a loaded worker or server, worth asking again.
func busy(err error) bool {
	return errors.Is(err, ErrNoAnswer) || errors.Is(err, ErrTimeout)
}

// compareOnce reads Redis, then Temporal, and reports the differences
// and whether they may be the run moving: an open run whose mirror and
// progress query answered different seqs or run IDs, or whose trail
// ended elsewhere than its progress, is read again. A closed run cannot
// move, and costs fewer queries: a run Redis lacks is not read further.
func (c *Client) compareOnce(ctx context.Context, r *projection.Reader, opts projection.Options, workflowID string) (diffs []string, moving bool, err error) {
	d, err := c.Describe(ctx, workflowID)
	if err != nil {
		return nil, false, err
	}
	mirror, err := ReadMirror(ctx, r, workflowID)
	if err != nil {
		return nil, false, err
	}
	p, err := c.Progress(ctx, workflowID)
	if err != nil {
		return nil, false, err
	}
	if mirror == nil {
		return Compare(nil, Truth{Progress: p}, opts.MaxHistory), d.Running, nil
	}
	trail, err := c.Trail(ctx, workflowID)
	if err != nil {
		return nil, false, err
	}
	var last uint64
	if n := len(trail.Records); n > 0 {
		last = trail.Records[n-1].Seq
	}
	moving = d.Running || trail.RunID != d.RunID
	moving = moving && (mirror.Progress.Seq != p.Seq || mirror.Progress.RunID != p.RunID || last != p.Seq || trail.RunID != p.RunID)
	return Compare(mirror, Truth{Progress: p, Records: trail.Records}, opts.MaxHistory), moving, nil
}

// ReadMirror reads a run's progress and history from Redis; nil, nil when
// Redis does not have the run.
func ReadMirror(ctx context.Context, r *projection.Reader, workflowID string) (*Mirror, error) {
	p, err := r.Progress(ctx, workflowID)
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h, err := r.History(ctx, workflowID, 0, 0)
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil // expired between the two reads
	}
	if err != nil {
		return nil, err
	}
	return &Mirror{Progress: p, History: h}, nil
}

// Truth reads a run's progress (the progress query) and its trail, and
// the first run of its chain. The progress is read after the trail, so
// its seq is never older than the trail's newest record.
func (c *Client) Truth(ctx context.Context, workflowID string) (Truth, error) {
	trail, err := c.Trail(ctx, workflowID)
	if err != nil {
		return Truth{}, err
	}
	p, err := c.Progress(ctx, workflowID)
	if err != nil {
		return Truth{}, err
	}
	return Truth{Progress: p, Records: trail.Records, FirstRunID: trail.FirstRunID}, nil
}

// Rebuild rewrites the mirror of workflowID from Temporal: its progress
// and the newest records of its trail that the mirror keeps, with
// Writer.Rewrite, which never rewinds a mirror that is newer. It reads
// again (up to SettleTries times) while the run moves between the trail
// and the progress query, so that the progress and the records agree. It
// returns what it wrote and the seq Redis holds afterwards.
func (c *Client) Rebuild(ctx context.Context, w *projection.Writer, opts projection.Options, workflowID string) (contract.ProjectionBatch, contract.ProjectionResult, error) {
	opts = opts.WithDefaults()
	for try := 1; ; try++ {
		truth, err := c.Truth(ctx, workflowID)
		if err != nil && (!busy(err) || try >= busyTries) {
			return contract.ProjectionBatch{}, contract.ProjectionResult{}, err
		}
		records := NewestRecords(truth.Records, opts.MaxHistory)
		settled := err == nil && (len(records) == 0 || records[len(records)-1].Seq == truth.Progress.Seq)
		if !settled && try < SettleTries {
			select {
			case <-ctx.Done():
				return contract.ProjectionBatch{}, contract.ProjectionResult{}, ctx.Err()
			case <-time.After(SettleEvery):
			}
			continue
		}
		if !settled {
			return contract.ProjectionBatch{}, contract.ProjectionResult{}, fmt.Errorf("%s kept moving: its trail ends at seq %d while its progress is at seq %d; try again",
				workflowID, records[len(records)-1].Seq, truth.Progress.Seq)
		}
		b := contract.ProjectionBatch{Progress: truth.Progress, Records: records, Chain: truth.FirstRunID}
		res, err := w.Rewrite(ctx, b)
		return b, res, err
	}
}

// Terminal reports whether a progress status names a terminal state:
// the run will not move again.
func Terminal(status string) bool {
	s, err := statemachine.ParseState(status)
	return err == nil && s.Terminal()
}
