package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/statedriven/statedriven/contract"
)

// ErrNotFound matches (errors.Is) a read of a run that has no keys in
// Redis: it was never mirrored, or its keys expired. Temporal may still
// know it.
var ErrNotFound = errors.New("run not found in redis")

// Reader reads the mirror of runs, as older callers and the starter do.
// It is safe for concurrent use.
type Reader struct {
	rdb  redis.UniversalClient
	opts Options
}

// NewReader returns a Reader over rdb with the writer's options (only
// Prefix matters to a reader).
func NewReader(rdb redis.UniversalClient, opts Options) *Reader {
	return &Reader{rdb: rdb, opts: opts.WithDefaults()}
}

// Progress returns a run's progress, the same as the progress query
// answers (an empty current_steps comes back as an empty slice, not nil).
func (r *Reader) Progress(ctx context.Context, id string) (contract.Progress, error) {
	fields, err := r.rdb.HGetAll(ctx, r.opts.keysOf(id).progress).Result()
	if err != nil {
		return contract.Progress{}, fmt.Errorf("progress of %q: %w", id, err)
	}
	return progressFromHash(id, fields)
}

func progressFromHash(id string, fields map[string]string) (contract.Progress, error) {
	if len(fields) == 0 {
		return contract.Progress{}, fmt.Errorf("progress of %q: %w", id, ErrNotFound)
	}
	p, err := parseProgress(fields)
	if err != nil {
		return contract.Progress{}, fmt.Errorf("progress of %q: malformed hash: %w", id, err)
	}
	return p, nil
}

// historyScript reads up to ARGV[2] records (all when 0) with seq at least
// ARGV[1] from the history list KEYS[2], in one step so that a trim
// between finding the list's first seq and reading cannot shift the
// window. It answers false when the run has no progress hash (KEYS[1]).
// The list is contiguous by seq, so a seq's index is its distance from
// the first record's seq.
var historyScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  return {}
end
local first = cjson.decode(head).seq
local from = tonumber(ARGV[1])
local start = 0
if from > first then
  start = from - first
end
local limit = tonumber(ARGV[2])
local stop = -1
if limit > 0 then
  stop = start + limit - 1
end
return redis.call('LRANGE', KEYS[2], start, stop)
`)

// History returns up to limit records of a run (all that are kept when
// limit <= 0), oldest first, from seq fromSeq on (from the oldest kept
// when fromSeq is older than that). The list keeps Options.MaxHistory of
// the newest records; Temporal has the rest.
func (r *Reader) History(ctx context.Context, id string, fromSeq uint64, limit int) ([]contract.Record, error) {
	k := r.opts.keysOf(id)
	items, err := historyScript.RunRO(ctx, r.rdb, []string{k.progress, k.history}, fromSeq, max(limit, 0)).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("history of %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", id, err)
	}
	records := make([]contract.Record, len(items))
	for i, item := range items {
		if err := json.Unmarshal([]byte(item), &records[i]); err != nil {
			return nil, fmt.Errorf("history of %q: malformed record: %w", id, err)
		}
	}
	return records, nil
}

// List returns the progress of up to limit runs (all when limit <= 0),
// most recently updated first. The index may name runs whose keys have
// expired; List skips them, so it may answer fewer than limit while there
// are no more live runs.
func (r *Reader) List(ctx context.Context, limit int) ([]contract.Progress, error) {
	const page = 100
	var list []contract.Progress
	for offset := int64(0); limit <= 0 || len(list) < limit; offset += page {
		ids, err := r.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: r.opts.indexKey(), Start: offset, Stop: offset + page - 1, Rev: true,
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		// A cluster client splits the pipeline by node.
		cmds := make([]*redis.MapStringStringCmd, len(ids))
		_, err = r.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = pipe.HGetAll(ctx, r.opts.keysOf(id).progress)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		for i, cmd := range cmds {
			p, err := progressFromHash(ids[i], cmd.Val())
			if errors.Is(err, ErrNotFound) {
				continue // expired since it was indexed
			}
			if err != nil {
				return nil, fmt.Errorf("list: %w", err)
			}
			list = append(list, p)
			if len(list) == limit {
				break
			}
		}
		if len(ids) < page {
			break
		}
	}
	return list, nil
}

// Subscription delivers the records that writers append to one run, in
// the order they were written. Records written while the connection was
// down, or while C was not read for a minute, are lost: a caller that must
// see every record compares seqs and reads the missing ones with History.
type Subscription struct {
	// C delivers the records. It is closed when the subscription ends.
	C <-chan contract.Record

	pubsub *redis.PubSub
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// Subscribe subscribes to the records appended to run id. It returns once
// Redis has confirmed the subscription, so a caller may then read History
// to catch up and miss nothing (records may arrive on both: skip those
// whose seq it has seen). The subscription ends, and C is closed, on
// Close or when ctx is done; Close it in either case to release its
// connection.
func (r *Reader) Subscribe(ctx context.Context, id string) (*Subscription, error) {
	pubsub := r.rdb.Subscribe(ctx, r.opts.keysOf(id).events)
	if _, err := pubsub.Receive(ctx); err != nil {
		_ = pubsub.Close()
		return nil, fmt.Errorf("subscribe to %q: %w", id, err)
	}
	c := make(chan contract.Record)
	s := &Subscription{C: c, pubsub: pubsub, stop: make(chan struct{}), done: make(chan struct{})}
	go s.forward(ctx, pubsub.Channel(), c)
	return s, nil
}

func (s *Subscription) forward(ctx context.Context, msgs <-chan *redis.Message, c chan<- contract.Record) {
	defer close(s.done)
	defer close(c)
	for {
		var msg *redis.Message
		select {
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			msg = m
		}
		var rec contract.Record
		if err := json.Unmarshal([]byte(msg.Payload), &rec); err != nil {
			continue // not a record: nothing a reader can use
		}
		select {
		case c <- rec:
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// Close ends the subscription and closes C. It may be called more than
// once.
func (s *Subscription) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		err = s.pubsub.Close()
		<-s.done
	})
	return err
}
