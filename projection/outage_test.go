package projection_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
)

// TestOutage follows a run through a Redis restart that loses every key:
// writes fail while Redis is down, and afterwards the first batch finds a
// gap (Redis answers seq 0), so the run sends what it keeps with Reset.
func TestOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	b := setup(t, srv.URL(), projection.Options{})

	res, err := b.writer.Project(b.ctx, batch("out", 1, 3))
	require.NoError(t, err)
	require.Equal(t, uint64(3), res.Seq)

	srv.Stop()
	_, err = b.writer.Project(b.ctx, batch("out", 4, 4))
	require.Error(t, err)

	srv.Start()
	res, err = b.writer.Project(b.ctx, batch("out", 4, 5))
	require.NoError(t, err)
	require.Equal(t, uint64(0), res.Seq, "the records before 4 are gone: send from 1")

	reset := batch("out", 2, 5) // the run keeps 2..5 only
	reset.Reset = true
	res, err = b.writer.Project(b.ctx, reset)
	require.NoError(t, err)
	require.Equal(t, uint64(5), res.Seq)
	got, err := b.reader.History(b.ctx, "out", 0, 0)
	require.NoError(t, err)
	require.Equal(t, records(2, 5), got)
}

// TestIndexPrune shows the index's caveat: it drops runs whose last
// update is older than the TTL, even while their keys (written just now)
// live on.
func TestIndexPrune(t *testing.T) {
	t.Parallel()
	b := setup(t, redistest.Start(t).URL(), projection.Options{TTL: time.Hour})

	stale := batch("stale", 1, 1)
	stale.Progress.UpdatedAt = time.Now().Add(-2 * time.Hour)
	b.write(t, stale, 1)
	b.write(t, batch("fresh", 1, 1), 1)

	ids, err := b.plain.ZRange(b.ctx, b.indexKey(), 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []string{"fresh"}, ids)
	_, err = b.reader.Progress(b.ctx, "stale")
	require.NoError(t, err, "the keys are there; only the index forgot the run")
}
