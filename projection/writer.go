package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/statedriven/statedriven/contract"
)

// ErrInvalidBatch matches (errors.Is) the error of a batch that breaks
// the rules of contract.ProjectionBatch: no workflow ID, records out of
// order or with gaps, or records newer than the progress. Nothing is
// written; sending the same batch again cannot succeed, so a caller should
// not retry it (the worker makes it a non-retryable application error).
var ErrInvalidBatch = errors.New("invalid projection batch")

// writeScript applies one batch to a run's progress hash (KEYS[1]),
// history list (KEYS[2]) and writer stamp (KEYS[3]) atomically. The rules
// are in the package documentation; the arguments are:
//
//	ARGV[1] mode: "append", "reset" or "rewrite"
//	ARGV[2] the batch's seq (Progress.Seq)
//	ARGV[3] the seq of the batch's first record (0 when it has none)
//	ARGV[4] TTL in milliseconds
//	ARGV[5] how many of the newest records the list keeps (negative: all)
//	ARGV[6] the events channel
//	ARGV[7] the stamp's chain, ARGV[8] generation, ARGV[9] task
//	ARGV[10] n, the number of progress arguments that follow
//	ARGV[11 .. 10+n] the progress hash's field-value pairs
//	ARGV[11+n ..] the records' JSON, oldest first, contiguous by seq
//
// It answers {seq Redis holds afterwards, 1 if it wrote and 0 if not}.
var writeScript = redis.NewScript(`
local mode = ARGV[1]
local last = tonumber(ARGV[2])
local first = tonumber(ARGV[3])
local stored = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local nfields = tonumber(ARGV[10])
local recordsAt = 11 + nfields
local hasRecords = #ARGV >= recordsAt

-- order: is the batch from a later workflow task than what is stored (1),
-- from the same one (0), or from an earlier one (-1)?
local order = 1
local stamp = redis.call('HMGET', KEYS[3], 'chain', 'generation', 'task')
if mode ~= 'rewrite' and stamp[1] then
  if stamp[1] ~= ARGV[7] then
    -- another execution under the same workflow ID: start afresh
    redis.call('DEL', KEYS[1], KEYS[2])
    stored = 0
  elseif stamp[2] then
    local g, t = tonumber(stamp[2]), tonumber(stamp[3])
    local bg, bt = tonumber(ARGV[8]), tonumber(ARGV[9])
    if bg < g or (bg == g and bt < t) then
      order = -1
    elseif bg == g and bt == t then
      order = 0
    end
  end
end

if order < 0 then
  return {stored, 0}
end
if mode == 'rewrite' then
  if last < stored then
    return {stored, 0}
  end
elseif order == 0 and last <= stored then
  return {stored, 0}
elseif mode == 'append' and hasRecords and first > stored + 1 then
  return {stored, 0}
end

-- the records to push, and the first of them to publish
local from = recordsAt
local publishFrom = recordsAt
if mode == 'append' and hasRecords then
  if order == 0 then
    from = recordsAt + math.max(stored - first + 1, 0)
    publishFrom = from
  else
    -- a later workflow task: its word replaces what an earlier attempt
    -- wrote from its first record on
    local drop = stored - first + 1
    if drop > 0 then
      redis.call('LTRIM', KEYS[2], 0, -drop - 1)
    end
  end
else
  redis.call('DEL', KEYS[2])
  if mode == 'rewrite' then
    redis.call('DEL', KEYS[1])
  end
  publishFrom = recordsAt + math.max(stored - first + 1, 0)
end
for i = from, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  if i >= publishFrom then
    redis.call('PUBLISH', ARGV[6], ARGV[i])
  end
end

redis.call('HSET', KEYS[1], unpack(ARGV, 11, 10 + nfields))
if mode == 'rewrite' then
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[3], 'chain', ARGV[7])
else
  redis.call('HSET', KEYS[3], 'chain', ARGV[7], 'generation', ARGV[8], 'task', ARGV[9])
end
for k = 1, 3 do
  redis.call('PEXPIRE', KEYS[k], ARGV[4])
end
local keep = tonumber(ARGV[5])
if keep >= 0 then
  redis.call('LTRIM', KEYS[2], -keep, -1)
end
return {last, 1}
`)

// Modes of writeScript.
const (
	modeAppend  = "append"
	modeReset   = "reset"
	modeRewrite = "rewrite"
)

// Writer mirrors runs into Redis. It is safe for concurrent use, and any
// number of writers (in one process or many) may write the same run: the
// seq rule keeps the mirror moving forward only.
type Writer struct {
	rdb  redis.UniversalClient
	opts Options
	// nextPrune is when (Unix nanoseconds) the index is next pruned of
	// runs older than the TTL.
	nextPrune atomic.Int64
}

// NewWriter returns a Writer over rdb, which may be a single node, a
// failover (Sentinel) or a cluster client. Unset options take their
// defaults.
func NewWriter(rdb redis.UniversalClient, opts Options) *Writer {
	return &Writer{rdb: rdb, opts: opts.WithDefaults()}
}

// Write applies one batch to the run b.Progress.WorkflowID in one atomic
// script and returns the seq that Redis holds for the run afterwards: the
// batch's seq when it went in or was already there, the stored seq when
// Redis has newer data or lacks the records before the batch's first (the
// caller then sends again from Seq+1). A batch that breaks the rules of
// contract.ProjectionBatch is an error matching ErrInvalidBatch.
func (w *Writer) Write(ctx context.Context, b contract.ProjectionBatch) (contract.ProjectionResult, error) {
	mode := modeAppend
	if b.Reset {
		mode = modeReset
	}
	return w.write(ctx, mode, b)
}

// Project is Write with the shape of a Temporal activity; the worker
// registers it as the local activity contract.ProjectActivityName.
func (w *Writer) Project(ctx context.Context, b contract.ProjectionBatch) (contract.ProjectionResult, error) {
	return w.Write(ctx, b)
}

// Rewrite replaces a run's mirror with exactly progress and records, as
// `starter projection rebuild` does from Temporal's answer. It never
// rewinds: when Redis holds a newer seq than progress.Seq it changes
// nothing and returns that seq; with an equal or older stored seq it
// replaces the hash and the history list.
func (w *Writer) Rewrite(ctx context.Context, b contract.ProjectionBatch) (contract.ProjectionResult, error) {
	return w.write(ctx, modeRewrite, b)
}

// Delete removes a run's keys and its index entry. Deleting a run that
// has no keys is not an error.
func (w *Writer) Delete(ctx context.Context, id string) error {
	k := w.opts.keysOf(id)
	// The hash and the list share a slot; the index is written by its own
	// command because in a cluster it lives in another.
	if err := w.rdb.Del(ctx, k.progress, k.history, k.stamp).Err(); err != nil {
		return fmt.Errorf("delete %q: %w", id, err)
	}
	if err := w.rdb.ZRem(ctx, w.opts.indexKey(), id).Err(); err != nil {
		return fmt.Errorf("delete %q from the index: %w", id, err)
	}
	return nil
}

func (w *Writer) write(ctx context.Context, mode string, b contract.ProjectionBatch) (contract.ProjectionResult, error) {
	p := b.Progress
	id := p.WorkflowID
	args, err := w.scriptArgs(mode, b)
	if err != nil {
		return contract.ProjectionResult{}, fmt.Errorf("project %q: %w: %w", id, ErrInvalidBatch, err)
	}
	k := w.opts.keysOf(id)
	reply, err := writeScript.Run(ctx, w.rdb, []string{k.progress, k.history, k.stamp}, args...).Int64Slice()
	if err != nil {
		return contract.ProjectionResult{}, fmt.Errorf("project %q: %w", id, err)
	}
	if len(reply) != 2 || reply[0] < 0 {
		return contract.ProjectionResult{}, fmt.Errorf("project %q: unexpected script reply %v", id, reply)
	}
	res := contract.ProjectionResult{Seq: uint64(reply[0])}
	// Index whenever Redis holds this batch's seq, not only when this call
	// wrote it: a retry after a failed index write then mends the index.
	if res.Seq == p.Seq && p.Seq > 0 {
		if err := w.index(ctx, id, p.UpdatedAt); err != nil {
			return res, fmt.Errorf("project %q: %w", id, err)
		}
	}
	return res, nil
}

// scriptArgs checks a batch and lays it out as writeScript's ARGV.
func (w *Writer) scriptArgs(mode string, b contract.ProjectionBatch) ([]any, error) {
	p, records := b.Progress, b.Records
	if err := checkBatch(p, records); err != nil {
		return nil, err
	}
	fields, err := progressFields(p)
	if err != nil {
		return nil, err
	}
	var first uint64
	if len(records) > 0 {
		first = records[0].Seq
	}
	args := make([]any, 0, 10+len(fields)+len(records))
	args = append(args,
		mode,
		strconv.FormatUint(p.Seq, 10),
		strconv.FormatUint(first, 10),
		w.opts.TTL.Milliseconds(),
		w.opts.MaxHistory,
		w.opts.keysOf(p.WorkflowID).events,
		b.Chain,
		b.Generation,
		b.Task,
		len(fields),
	)
	for _, f := range fields {
		args = append(args, f)
	}
	for _, r := range records {
		// A Record has no values that encoding/json refuses but a time
		// outside years 0-9999.
		data, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", r.Seq, err)
		}
		args = append(args, data)
	}
	return args, nil
}

// checkBatch enforces contract.ProjectionBatch's rules, which the script
// relies on: it finds each record's seq by its position.
func checkBatch(p contract.Progress, records []contract.Record) error {
	if p.WorkflowID == "" {
		return errors.New("progress has no workflow_id")
	}
	if len(records) == 0 {
		return nil
	}
	first := records[0].Seq
	if first == 0 {
		return errors.New("record 0 has seq 0; seq starts at 1")
	}
	for i, r := range records {
		if want := first + uint64(i); r.Seq != want {
			return fmt.Errorf("record %d has seq %d, want %d: records must be ascending without gaps", i, r.Seq, want)
		}
	}
	if last := records[len(records)-1].Seq; last > p.Seq {
		return fmt.Errorf("the last record's seq %d is newer than the progress seq %d", last, p.Seq)
	}
	return nil
}

// index scores the run in the index by its last update. GT keeps the score
// from moving backwards when writers race. Now and then it also drops the
// runs whose last update is older than the TTL, whose keys have expired
// (or will soon).
func (w *Writer) index(ctx context.Context, id string, updatedAt time.Time) error {
	key := w.opts.indexKey()
	_, err := w.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.ZAddGT(ctx, key, redis.Z{Score: float64(updatedAt.UnixMilli()), Member: id})
		if now := time.Now(); w.pruneDue(now) {
			oldest := now.Add(-w.opts.TTL).UnixMilli()
			pipe.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(oldest, 10))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// pruneEvery is the longest the index goes without pruning (or the TTL,
// if that is shorter).
const pruneEvery = time.Minute

// pruneDue reports whether this writer should prune the index now, and if
// so claims the turn, so that concurrent writes prune once.
func (w *Writer) pruneDue(now time.Time) bool {
	next := w.nextPrune.Load()
	if now.UnixNano() < next {
		return false
	}
	return w.nextPrune.CompareAndSwap(next, now.Add(min(pruneEvery, w.opts.TTL)).UnixNano())
}
