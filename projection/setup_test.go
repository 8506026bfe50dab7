package projection_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
	"github.com/statedriven/statedriven/statemachine"
)

// backend is a kind of Redis deployment that the contract must hold on.
type backend struct {
	name  string
	start func(t *testing.T) string // returns a REDIS_URL
}

var backends = []backend{
	{"single", func(t *testing.T) string { return redistest.Start(t).URL() }},
	{"cluster", func(t *testing.T) string { return redistest.StartCluster(t).URL() }},
}

// forEachBackend runs each case on a single server and on a three-node
// cluster. The servers are shared by the cases of one backend; each case
// has its own key prefix, so they run in parallel.
func forEachBackend(t *testing.T, cases map[string]func(t *testing.T, b bundle)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			url := be.start(t)
			for name, run := range cases {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					run(t, setup(t, url, projection.Options{}))
				})
			}
		})
	}
}

// bundle is what a test needs: a writer and a reader with a prefix of its
// own, and a plain client for reading the keys as an outside caller does.
type bundle struct {
	ctx    context.Context
	url    string
	opts   projection.Options
	rdb    redis.UniversalClient // the package's client, from Config.Client
	plain  redis.UniversalClient // an outside caller's client
	writer *projection.Writer
	reader *projection.Reader
}

var prefixes atomic.Int64

// setup gives a test its own prefix on the server at url. opts.Prefix is
// replaced.
func setup(t testing.TB, url string, opts projection.Options) bundle {
	t.Helper()
	opts.Prefix = "test" + strconv.FormatInt(prefixes.Add(1), 10)
	cfg, ok, err := projection.ConfigFromEnv(func(name string) string {
		if name == projection.EnvURL {
			return url
		}
		return ""
	})
	require.NoError(t, err)
	require.True(t, ok)
	cfg.Options = opts
	rdb, err := cfg.Client()
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	plain, err := cfg.Client()
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Close() })
	return bundle{
		ctx:    t.Context(),
		url:    url,
		opts:   opts.WithDefaults(),
		rdb:    rdb,
		plain:  plain,
		writer: projection.NewWriter(rdb, opts),
		reader: projection.NewReader(rdb, opts),
	}
}

func (b bundle) key(id string) string        { return b.opts.Prefix + ":{" + id + "}" }
func (b bundle) historyKey(id string) string { return b.key(id) + ":history" }
func (b bundle) eventsKey(id string) string  { return b.key(id) + ":events" }
func (b bundle) indexKey() string            { return b.opts.Prefix + ":index" }

// t0 is the clock of the made-up runs: UTC, with nanoseconds, so that
// the round trip of updated_at is tested to the last digit. It is recent,
// since the writer prunes the index of runs updated longer than the TTL
// ago.
var t0 = time.Now().UTC().Truncate(time.Hour).Add(123456789 * time.Nanosecond)

// records returns records from..to of a made-up run, one second apart.
func records(from, to uint64) []contract.Record {
	var rs []contract.Record
	for seq := from; seq <= to; seq++ {
		rs = append(rs, contract.Record{
			Seq:    seq,
			From:   statemachine.Processing,
			To:     statemachine.Processing,
			Step:   "step" + strconv.FormatUint(seq, 10),
			Event:  statemachine.EventStepCompleted,
			Reason: "done " + strconv.FormatUint(seq, 10),
			At:     t0.Add(time.Duration(seq) * time.Second),
		})
	}
	return rs
}

// progressAt returns the made-up run's progress at seq.
func progressAt(id string, seq uint64) contract.Progress {
	return contract.Progress{
		WorkflowID:         id,
		RunID:              "run-1",
		Definition:         "complex-workflow",
		Status:             "PROCESSING",
		CurrentSteps:       []string{"process"},
		ProgressPercentage: int(min(seq, 99)),
		CompletedSteps:     int(seq),
		TotalSteps:         10,
		UpdatedAt:          t0.Add(time.Duration(seq) * time.Second),
		Seq:                seq,
	}
}

// batch returns the batch of records from..to with the progress at to.
func batch(id string, from, to uint64) contract.ProjectionBatch {
	return contract.ProjectionBatch{Progress: progressAt(id, to), Records: records(from, to)}
}

// write writes b and requires the seq Redis answers.
func (b bundle) write(t testing.TB, pb contract.ProjectionBatch, wantSeq uint64) {
	t.Helper()
	res, err := b.writer.Write(b.ctx, pb)
	require.NoError(t, err)
	require.Equal(t, wantSeq, res.Seq)
}
