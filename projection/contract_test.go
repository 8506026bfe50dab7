package projection_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
)

// TestContract reads the keys with plain commands, as an outside caller
// that knows only DESIGN.md's "Redis keys" would.
func TestContract(t *testing.T) {
	forEachBackend(t, map[string]func(t *testing.T, b bundle){
		"progress hash holds one field per JSON name": testProgressHash,
		"empty current_steps is []":                   testEmptyCurrentSteps,
		"history list holds each record's JSON":       testHistoryList,
		"keys expire TTL after the last write":        testTTLSet,
		"a short TTL makes the keys disappear":        testShortTTL,
		"index is scored by updated_at":               testIndexScore,
		"events channel carries each new record once": testEventsChannel,
		"history list keeps MaxHistory newest":        testMaxHistory,
		"older or equal batch changes nothing":        testOlderBatch,
		"overlapping batch appends only new records":  testOverlap,
		"gap changes nothing and returns stored seq":  testGap,
		"reset restarts the list":                     testReset,
		"rewrite never rewinds":                       testRewrite,
		"a later workflow task replaces an attempt":   testLaterTask,
		"another execution replaces the mirror":       testAnotherChain,
		"invalid batch is refused before any write":   testInvalidBatch,
		"concurrent writers":                          testConcurrentWriters,
		"reader progress and not found":               testReaderProgress,
		"reader history pages by seq":                 testReaderHistory,
		"reader list newest first, skips expired":     testReaderList,
		"reader list pages through a long index":      testReaderListPages,
		"subscription ends with its context":          testSubscribeContext,
		"reader subscribe receives each record once":  testReaderSubscribe,
		"delete removes keys and index entry":         testDelete,
	})
}

func testProgressHash(t *testing.T, b bundle) {
	p := progressAt("order-42", 3)
	p.CurrentSteps = []string{"process", "notify"}
	p.Paused = true
	p.Error = "a \"quoted\" error"
	b.write(t, contract.ProjectionBatch{Progress: p, Records: records(1, 3)}, 3)

	fields, err := b.plain.HGetAll(b.ctx, b.key("order-42")).Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"workflow_id":         "order-42",
		"run_id":              "run-1",
		"definition":          "complex-workflow",
		"status":              "PROCESSING",
		"current_steps":       `["process","notify"]`,
		"progress_percentage": "3",
		"is_complete":         "false",
		"completed_steps":     "3",
		"total_steps":         "10",
		"paused":              "true",
		"error":               `a "quoted" error`,
		"updated_at":          p.UpdatedAt.Format(time.RFC3339Nano),
		"seq":                 "3",
	}, fields)
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123456789Z$`, fields["updated_at"])

	// An outside caller rebuilds the progress query's JSON from the hash:
	// strings stay strings, the rest are JSON literals.
	rebuilt := map[string]json.RawMessage{}
	for name, v := range fields {
		switch name {
		case "workflow_id", "run_id", "definition", "status", "error", "updated_at":
			rebuilt[name], err = json.Marshal(v)
			require.NoError(t, err)
		default:
			rebuilt[name] = json.RawMessage(v)
		}
	}
	got, err := json.Marshal(rebuilt)
	require.NoError(t, err)
	want, err := json.Marshal(p)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
	var back contract.Progress
	require.NoError(t, json.Unmarshal(got, &back))
	require.Equal(t, p, back)

	read, err := b.reader.Progress(b.ctx, "order-42")
	require.NoError(t, err)
	require.Equal(t, p, read)
}

func testEmptyCurrentSteps(t *testing.T, b bundle) {
	p := progressAt("idle", 1)
	p.CurrentSteps = nil
	p.UpdatedAt = t0.Truncate(time.Second) // no fraction: RFC3339Nano drops it
	b.write(t, contract.ProjectionBatch{Progress: p, Records: records(1, 1)}, 1)

	fields, err := b.plain.HGetAll(b.ctx, b.key("idle")).Result()
	require.NoError(t, err)
	require.Equal(t, "[]", fields["current_steps"])
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, fields["updated_at"])

	read, err := b.reader.Progress(b.ctx, "idle")
	require.NoError(t, err)
	require.Equal(t, []string{}, read.CurrentSteps)
	asJSON, err := json.Marshal(read)
	require.NoError(t, err)
	require.Contains(t, string(asJSON), `"current_steps":[]`)
}

func testHistoryList(t *testing.T, b bundle) {
	b.write(t, batch("h", 1, 2), 2)
	b.write(t, batch("h", 3, 5), 5)

	require.Equal(t, recordJSON(t, records(1, 5)), b.lrange(t, "h"))
}

func testTTLSet(t *testing.T, b bundle) {
	b.write(t, batch("ttl", 1, 1), 1)
	for _, key := range []string{b.key("ttl"), b.historyKey("ttl")} {
		pttl, err := b.plain.PTTL(b.ctx, key).Result()
		require.NoError(t, err)
		require.Greater(t, pttl, time.Duration(0), key)
		require.LessOrEqual(t, pttl, projection.DefaultTTL, key)
	}
}

func testShortTTL(t *testing.T, b bundle) {
	b = setup(t, b.url, projection.Options{TTL: time.Second})
	b.write(t, batch("short", 1, 2), 2)
	for _, key := range []string{b.key("short"), b.historyKey("short")} {
		pttl, err := b.plain.PTTL(b.ctx, key).Result()
		require.NoError(t, err)
		require.Greater(t, pttl, time.Duration(0), key)
		require.LessOrEqual(t, pttl, time.Second, key)
	}
	require.Eventually(t, func() bool {
		n, err := b.plain.Exists(b.ctx, b.key("short")).Result()
		require.NoError(t, err)
		m, err := b.plain.Exists(b.ctx, b.historyKey("short")).Result()
		require.NoError(t, err)
		return n+m == 0
	}, 10*time.Second, 50*time.Millisecond)

	_, err := b.reader.Progress(b.ctx, "short")
	require.ErrorIs(t, err, projection.ErrNotFound)
	_, err = b.reader.History(b.ctx, "short", 0, 0)
	require.ErrorIs(t, err, projection.ErrNotFound)
}

func testIndexScore(t *testing.T, b bundle) {
	b.write(t, batch("a", 1, 3), 3)
	score, err := b.plain.ZScore(b.ctx, b.indexKey(), "a").Result()
	require.NoError(t, err)
	require.Equal(t, float64(progressAt("a", 3).UpdatedAt.UnixMilli()), score)

	// A newer seq whose clock says earlier does not move the score back
	// (ZADD GT): writers on different clocks cannot reorder the list.
	late := batch("a", 4, 4)
	late.Progress.UpdatedAt = t0
	b.write(t, late, 4)
	score, err = b.plain.ZScore(b.ctx, b.indexKey(), "a").Result()
	require.NoError(t, err)
	require.Equal(t, float64(progressAt("a", 3).UpdatedAt.UnixMilli()), score)
}

func testEventsChannel(t *testing.T, b bundle) {
	sub := b.plain.Subscribe(b.ctx, b.eventsKey("ev"))
	defer sub.Close()
	_, err := sub.Receive(b.ctx) // the subscription is confirmed
	require.NoError(t, err)

	b.write(t, batch("ev", 1, 3), 3)
	b.write(t, batch("ev", 2, 3), 3) // a retry: nothing new
	b.write(t, batch("ev", 2, 5), 5) // overlaps: only 4 and 5 are new
	b.write(t, batch("ev", 8, 9), 5) // a gap: nothing

	want := recordJSON(t, records(1, 5))
	for i, w := range want {
		select {
		case msg := <-sub.Channel():
			require.Equal(t, w, msg.Payload, "message %d", i)
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d did not arrive", i)
		}
	}
	// Nothing else was published: a marker written last is the next.
	b.write(t, batch("ev", 6, 6), 6)
	msg := <-sub.Channel()
	require.Equal(t, recordJSON(t, records(6, 6))[0], msg.Payload)
}

func testMaxHistory(t *testing.T, b bundle) {
	b = setup(t, b.url, projection.Options{MaxHistory: 3})
	b.write(t, batch("max", 1, 2), 2)
	b.write(t, batch("max", 3, 5), 5)
	require.Equal(t, recordJSON(t, records(3, 5)), b.lrange(t, "max"))

	got, err := b.reader.History(b.ctx, "max", 1, 0)
	require.NoError(t, err)
	require.Equal(t, records(3, 5), got)
}

func testOlderBatch(t *testing.T, b bundle) {
	b.write(t, batch("old", 1, 5), 5)
	before := b.snapshot(t, "old")

	b.write(t, batch("old", 1, 5), 5) // equal: a retry
	b.write(t, batch("old", 1, 3), 5) // older: a replay
	equalNoRecords := contract.ProjectionBatch{Progress: progressAt("old", 5)}
	equalNoRecords.Progress.Status = "COMPLETE"
	b.write(t, equalNoRecords, 5) // equal seq never overwrites, whatever it says
	require.Equal(t, before, b.snapshot(t, "old"))
}

func testOverlap(t *testing.T, b bundle) {
	b.write(t, batch("ov", 1, 3), 3)
	b.write(t, batch("ov", 2, 6), 6)
	require.Equal(t, recordJSON(t, records(1, 6)), b.lrange(t, "ov"))
	b.write(t, batch("ov", 7, 7), 7) // starts right after: appended whole
	require.Equal(t, recordJSON(t, records(1, 7)), b.lrange(t, "ov"))
}

func testGap(t *testing.T, b bundle) {
	// Nothing stored: a batch that does not start at 1 is a gap too (the
	// keys expired or Redis was flushed), and the caller resends from 1.
	b.write(t, batch("gap", 3, 4), 0)
	b.requireNoKeys(t, b.key("gap"), b.historyKey("gap"))
	_, err := b.plain.ZScore(b.ctx, b.indexKey(), "gap").Result()
	require.Error(t, err, "a refused batch is not indexed")

	b.write(t, batch("gap", 1, 2), 2)
	before := b.snapshot(t, "gap")
	b.write(t, batch("gap", 4, 5), 2)
	require.Equal(t, before, b.snapshot(t, "gap"))
	b.write(t, batch("gap", 3, 5), 5)
	require.Equal(t, recordJSON(t, records(1, 5)), b.lrange(t, "gap"))
}

func testReset(t *testing.T, b bundle) {
	b.write(t, batch("reset", 1, 3), 3)
	// The run kept only 8..10 when it learnt the mirror was behind.
	reset := batch("reset", 8, 10)
	reset.Reset = true
	b.write(t, reset, 10)
	require.Equal(t, recordJSON(t, records(8, 10)), b.lrange(t, "reset"))
	got, err := b.reader.Progress(b.ctx, "reset")
	require.NoError(t, err)
	require.Equal(t, progressAt("reset", 10), got)

	// An older or equal reset changes nothing.
	stale := batch("reset", 5, 10)
	stale.Reset = true
	b.write(t, stale, 10)
	require.Equal(t, recordJSON(t, records(8, 10)), b.lrange(t, "reset"))

	// And appending goes on from there.
	b.write(t, batch("reset", 11, 11), 11)
	require.Equal(t, recordJSON(t, records(8, 11)), b.lrange(t, "reset"))
}

func testRewrite(t *testing.T, b bundle) {
	b.write(t, batch("rw", 1, 6), 6)
	before := b.snapshot(t, "rw")

	res, err := b.writer.Rewrite(b.ctx, batch("rw", 1, 4))
	require.NoError(t, err)
	require.Equal(t, uint64(6), res.Seq, "never rewinds")
	require.Equal(t, before, b.snapshot(t, "rw"))

	// Equal seq: replaced, even with fewer records (the rebuild's source
	// keeps fewer).
	p := progressAt("rw", 6)
	p.Status = "COMPLETE"
	res, err = b.writer.Rewrite(b.ctx, contract.ProjectionBatch{Progress: p, Records: records(4, 6)})
	require.NoError(t, err)
	require.Equal(t, uint64(6), res.Seq)
	require.Equal(t, recordJSON(t, records(4, 6)), b.lrange(t, "rw"))
	got, err := b.reader.Progress(b.ctx, "rw")
	require.NoError(t, err)
	require.Equal(t, p, got)

	// Newer seq, no stored keys at all: written from scratch.
	res, err = b.writer.Rewrite(b.ctx, batch("fresh", 1, 9))
	require.NoError(t, err)
	require.Equal(t, uint64(9), res.Seq)
	require.Equal(t, recordJSON(t, records(1, 9)), b.lrange(t, "fresh"))
}

func testInvalidBatch(t *testing.T, b bundle) {
	noID := batch("", 1, 1)
	unordered := batch("bad", 1, 3)
	unordered.Records[1], unordered.Records[2] = unordered.Records[2], unordered.Records[1]
	gappy := batch("bad", 1, 3)
	gappy.Records = append(gappy.Records[:1], gappy.Records[2:]...)
	ahead := batch("bad", 1, 3)
	ahead.Progress.Seq = 2
	zero := batch("bad", 1, 1)
	zero.Records[0].Seq = 0
	for name, pb := range map[string]contract.ProjectionBatch{
		"no workflow id": noID, "unordered": unordered, "gap inside": gappy,
		"records ahead of progress": ahead, "seq 0": zero,
	} {
		_, err := b.writer.Write(b.ctx, pb)
		require.ErrorIs(t, err, projection.ErrInvalidBatch, name)
	}
	b.requireNoKeys(t, b.key("bad"), b.historyKey("bad"), b.indexKey())
}

func testReaderProgress(t *testing.T, b bundle) {
	_, err := b.reader.Progress(b.ctx, "never")
	require.ErrorIs(t, err, projection.ErrNotFound)

	b.write(t, batch("rp", 1, 2), 2)
	got, err := b.reader.Progress(b.ctx, "rp")
	require.NoError(t, err)
	require.Equal(t, progressAt("rp", 2), got)

	// A hash someone else broke is reported, not guessed at.
	require.NoError(t, b.plain.HSet(b.ctx, b.key("rp"), "seq", "x").Err())
	_, err = b.reader.Progress(b.ctx, "rp")
	require.ErrorContains(t, err, "seq")
}

func testReaderHistory(t *testing.T, b bundle) {
	reset := batch("rh", 11, 20) // the list starts at 11
	reset.Reset = true
	b.write(t, reset, 20)
	for _, c := range []struct {
		from      uint64
		limit     int
		from2, to uint64 // want records from2..to; from2 > to means none
	}{
		{0, 0, 11, 20},
		{1, 3, 11, 13},
		{11, 0, 11, 20},
		{15, 0, 15, 20},
		{15, 2, 15, 16},
		{20, 5, 20, 20},
		{21, 0, 21, 20},
	} {
		got, err := b.reader.History(b.ctx, "rh", c.from, c.limit)
		require.NoError(t, err)
		want := records(c.from2, c.to)
		if want == nil {
			want = []contract.Record{}
		}
		require.Equal(t, want, got, "from %d limit %d", c.from, c.limit)
	}
	_, err := b.reader.History(b.ctx, "nobody", 0, 0)
	require.ErrorIs(t, err, projection.ErrNotFound)
}

func testReaderList(t *testing.T, b bundle) {
	for i, id := range []string{"l1", "l2", "l3", "l4"} {
		pb := batch(id, 1, 1)
		pb.Progress.UpdatedAt = t0.Add(time.Duration(i) * time.Minute)
		b.write(t, pb, 1)
	}
	// l3's keys expire; the index still names it.
	require.NoError(t, b.plain.Del(b.ctx, b.key("l3"), b.historyKey("l3")).Err())

	ids := func(ps []contract.Progress) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.WorkflowID)
		}
		return out
	}
	all, err := b.reader.List(b.ctx, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"l4", "l2", "l1"}, ids(all))
	two, err := b.reader.List(b.ctx, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"l4", "l2"}, ids(two))
	require.Equal(t, all[0], two[0])
}

func testReaderListPages(t *testing.T, b bundle) {
	const runs = 230
	for i := range runs {
		pb := batch("p"+strconv.Itoa(i), 1, 1)
		pb.Progress.UpdatedAt = t0.Add(time.Duration(i) * time.Millisecond)
		b.write(t, pb, 1)
	}
	// Every third run expired; the index still names them.
	live := 0
	for i := runs - 1; i >= 0; i-- {
		if i%3 == 0 {
			id := "p" + strconv.Itoa(i)
			require.NoError(t, b.plain.Del(b.ctx, b.key(id), b.historyKey(id)).Err())
			continue
		}
		live++
	}
	all, err := b.reader.List(b.ctx, 0)
	require.NoError(t, err)
	require.Len(t, all, live)
	for i := 1; i < len(all); i++ {
		require.True(t, all[i-1].UpdatedAt.After(all[i].UpdatedAt), "newest first")
	}
	some, err := b.reader.List(b.ctx, 150) // needs a second page of the index
	require.NoError(t, err)
	require.Equal(t, all[:150], some)
}

func testReaderSubscribe(t *testing.T, b bundle) {
	b.write(t, batch("sub", 1, 2), 2)
	sub, err := b.reader.Subscribe(b.ctx, "sub")
	require.NoError(t, err)
	defer sub.Close()

	// Catch up from history, then follow: nothing is missed, since the
	// subscription was in place before History was read.
	seen, err := b.reader.History(b.ctx, "sub", 1, 0)
	require.NoError(t, err)
	b.write(t, batch("sub", 2, 4), 4)
	b.write(t, batch("sub", 3, 4), 4)
	b.write(t, batch("sub", 5, 7), 7)
	for len(seen) < 7 {
		select {
		case rec := <-sub.C:
			require.Equal(t, seen[len(seen)-1].Seq+1, rec.Seq, "each record once, in order")
			seen = append(seen, rec)
		case <-time.After(10 * time.Second):
			t.Fatalf("record %d did not arrive", len(seen)+1)
		}
	}
	require.Equal(t, records(1, 7), seen)

	require.NoError(t, sub.Close())
	_, open := <-sub.C
	require.False(t, open, "Close closes C")
	require.NoError(t, sub.Close(), "Close twice is fine")
}

func testSubscribeContext(t *testing.T, b bundle) {
	ctx, cancel := context.WithCancel(b.ctx)
	sub, err := b.reader.Subscribe(ctx, "ctx")
	require.NoError(t, err)
	defer sub.Close()
	cancel()
	select {
	case _, open := <-sub.C:
		require.False(t, open)
	case <-time.After(10 * time.Second):
		t.Fatal("C stayed open after the context ended")
	}
}

func testDelete(t *testing.T, b bundle) {
	b.write(t, batch("del", 1, 2), 2)
	require.NoError(t, b.writer.Delete(b.ctx, "del"))
	b.requireNoKeys(t, b.key("del"), b.historyKey("del"))
	_, err := b.plain.ZScore(b.ctx, b.indexKey(), "del").Result()
	require.Error(t, err)
	require.NoError(t, b.writer.Delete(b.ctx, "del"), "deleting nothing is fine")
}

// snapshot is everything Redis holds for a run, to compare before and
// after a write that must change nothing.
type runSnapshot struct {
	Hash    map[string]string
	History []string
	Score   float64
}

func (b bundle) snapshot(t *testing.T, id string) runSnapshot {
	t.Helper()
	hash, err := b.plain.HGetAll(b.ctx, b.key(id)).Result()
	require.NoError(t, err)
	score, err := b.plain.ZScore(b.ctx, b.indexKey(), id).Result()
	require.NoError(t, err)
	return runSnapshot{Hash: hash, History: b.lrange(t, id), Score: score}
}

func (b bundle) lrange(t *testing.T, id string) []string {
	t.Helper()
	items, err := b.plain.LRange(b.ctx, b.historyKey(id), 0, -1).Result()
	require.NoError(t, err)
	return items
}

func recordJSON(t *testing.T, rs []contract.Record) []string {
	t.Helper()
	out := make([]string, len(rs))
	for i, r := range rs {
		data, err := json.Marshal(r)
		require.NoError(t, err)
		out[i] = string(data)
	}
	return out
}

// requireNoKeys checks each key by its own command: in a cluster they may
// live in different slots.
func (b bundle) requireNoKeys(t *testing.T, keys ...string) {
	t.Helper()
	for _, key := range keys {
		n, err := b.plain.Exists(b.ctx, key).Result()
		require.NoError(t, err)
		require.Zero(t, n, key)
	}
}

// stamped is batch from..to as the workflow task task of chain wrote it.
func stamped(id string, from, to uint64, chain string, task int64) contract.ProjectionBatch {
	pb := batch(id, from, to)
	pb.Chain, pb.Task = chain, task
	return pb
}

// A workflow task that wrote records 4..6 and then failed is tried again
// (a later task ID), and its attempt made 4..5 with other times: the
// later attempt's records replace the failed one's, and a late write of
// the failed attempt changes nothing.
func testLaterTask(t *testing.T, b bundle) {
	b.write(t, stamped("retried", 1, 3, "c1", 10), 3)
	b.write(t, stamped("retried", 4, 6, "c1", 15), 6)
	again := stamped("retried", 4, 5, "c1", 19)
	again.Records[0].Reason = "the attempt Temporal kept"
	b.write(t, again, 5)
	want := append(records(1, 3), again.Records...)
	require.Equal(t, recordJSON(t, want), b.lrange(t, "retried"))
	got, err := b.reader.Progress(b.ctx, "retried")
	require.NoError(t, err)
	require.Equal(t, again.Progress, got)

	before := b.snapshot(t, "retried")
	b.write(t, stamped("retried", 4, 6, "c1", 15), 5)
	require.Equal(t, before, b.snapshot(t, "retried"), "an earlier task changes nothing")

	// The same task again (a retried write) appends only what is new.
	b.write(t, stamped("retried", 5, 7, "c1", 19), 7)
	require.Equal(t, recordJSON(t, append(want, records(6, 7)...)), b.lrange(t, "retried"))
}

// A new execution under a workflow ID whose mirror holds an older
// execution's seq 9 starts the mirror afresh from its own seq 1.
func testAnotherChain(t *testing.T, b bundle) {
	b.write(t, stamped("reused", 1, 9, "first-execution", 40), 9)
	b.write(t, stamped("reused", 1, 2, "second-execution", 3), 2)
	require.Equal(t, recordJSON(t, records(1, 2)), b.lrange(t, "reused"))
	got, err := b.reader.Progress(b.ctx, "reused")
	require.NoError(t, err)
	require.Equal(t, uint64(2), got.Seq)
}
