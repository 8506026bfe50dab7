// Package projection is statedriven's Redis read model: the Writer that
// mirrors each run's progress and history into Redis (the workflow's
// projector calls it as the local activity contract.ProjectActivityName),
// and the Reader that older callers, dashboards and the starter use to
// read them without asking Temporal. Temporal is the source of truth; the
// mirror can always be rebuilt from it (Writer.Rewrite).
//
// # Keys
//
// With the default prefix "wf" (Options.Prefix) a run with workflow ID ID
// has:
//
//	wf:{ID}          hash     the progress, one field per JSON name of
//	                          contract.Progress
//	wf:{ID}:history  list     one JSON contract.Record per entry, oldest
//	                          first, at most Options.MaxHistory (10000)
//	wf:{ID}:events   channel  each newly appended record's JSON
//	wf:{ID}:writer   hash     the stamp of the last write (chain,
//	                          generation, task): the writer's own
//	                          bookkeeping, not for readers
//	wf:index         zset     workflow IDs scored by updated_at, in ms
//
// The hash's values are strings as they are, integers in decimal,
// booleans "true" or "false", current_steps as a JSON array ("[]" when
// empty) and updated_at as encoding/json writes a time.Time (RFC 3339 with
// nanoseconds, time.RFC3339Nano). So HGETALL gives back the progress
// query's JSON: quote the string fields, keep the others as they are.
//
// The hash, the list and the stamp expire Options.TTL (24 h) after the
// run's last write.
//
// # Atomicity and the seq rule
//
// Every batch carries the run's seq, the Seq of its newest history record,
// and a stamp: the workflow task that made it (the chain's first run ID,
// the run's place in its continue-as-new chain, and the event ID at which
// the task started). One Lua script (EVALSHA, falling back to EVAL)
// applies a batch to the hash and the list together, so a reader never
// sees the progress of one batch beside the history of another. With
// stored the hash's seq (0 when there is none) and last the batch's:
//
//   - a batch of another chain (a new execution under a reused workflow
//     ID) starts the mirror afresh;
//   - a batch from an earlier workflow task than the stored stamp changes
//     nothing;
//   - from the same task (a retried write, or the pieces of a backlog):
//     last <= stored changes nothing and the answer is stored, so retries,
//     replays and a second writer never duplicate or rewind anything;
//   - the batch's first record is newer than stored+1: Redis lacks the
//     records in between (it was flushed, the keys expired, or the writer
//     fell behind). Nothing changes and the answer is stored; the caller
//     sends again from stored+1, or, if it no longer keeps those, sends
//     what it keeps with Reset;
//   - otherwise the records newer than stored are appended (a batch may
//     overlap what is stored) and each is published on the channel; with
//     Reset the list is replaced by the batch's records instead. Then the
//     hash is written, the keys' TTL restarts, the list is trimmed to
//     MaxHistory, and the answer is last.
//
// A batch from a later workflow task replaces the stored records from its
// first record on. That is the one case where the seq may go down: a
// workflow task writes its batch before Temporal has accepted the task
// (the projection runs inside it, as a local activity), and when Temporal
// refuses the task's completion (a new event arrived meanwhile, say) the
// task runs again and may make its records differently (other times,
// other moves). The later attempt is what Temporal kept, so its word wins,
// and its records are published again under the same seqs: a subscriber
// keeps the last record it received for each seq.
//
// Writer.Rewrite, for rebuilding from Temporal, ignores stamps and
// differs at an equal seq: it replaces the hash and the list. It clears the
// stamp, so the run's next batch is taken as from a later task.
//
// Apart from that, the channel carries each seq once, in order, but
// pub/sub keeps nothing:
// a subscriber misses what is published while it is disconnected.
// Subscribe returns once the subscription is in place, so reading History
// after it fills what came before; comparing seqs fills any later gap.
//
// # The index, and Redis Cluster
//
// The braces in the keys are a Redis Cluster hash tag: a run's hash and
// list share a slot, which is what lets one script write both. The index
// is shared by every run, so in a cluster it lives in a slot of its own
// and cannot be in the script. The writer updates it with a separate ZADD
// GT after the script (GT: the score never moves backwards), and about once
// a minute drops the entries whose updated_at is older than the TTL. For a
// reader this means:
//
//   - the index may briefly lag the run's keys (a run whose keys are
//     written may not yet be listed, or be listed with its previous
//     score; if the ZADD fails, the write returns an error and its retry
//     mends the index);
//   - the index may name a run whose keys have expired: Reader.List skips
//     it;
//   - a run is scored by its own clock (updated_at), not by when it was
//     written: a rebuild of a run last updated longer ago than the TTL
//     writes its keys, but the next prune drops it from the index.
//
// Config.Client reaches one server, a Sentinel-managed primary or a
// cluster, chosen by the form of REDIS_URL (see Config).
package projection
