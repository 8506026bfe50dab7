package projection_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testConcurrentWriters has eight writers race over one run's history of
// 500 records. Each sends every prefix 1..n of it once, in its own random
// order, as a workflow and its retries would: the newest few records and
// the progress at n, and on a gap it resends from the seq Redis answered.
// Whatever the interleaving, Redis ends with records 1..500 once each, in
// order, and the progress at 500.
func testConcurrentWriters(t *testing.T, b bundle) {
	const (
		writers = 8
		total   = 500
		window  = 8 // records per batch before a gap forces a resend
	)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for _, n := range rng.Perm(total) {
				to := uint64(n + 1)
				from := max(1, to-uint64(rng.IntN(window)))
				for {
					res, err := b.writer.Write(b.ctx, batch("race", from, to))
					if err != nil {
						errs <- err
						return
					}
					if res.Seq+1 >= from { // written, or Redis is ahead
						break
					}
					from = res.Seq + 1 // a gap: resend what Redis lacks
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	require.Equal(t, recordJSON(t, records(1, total)), b.lrange(t, "race"))
	got, err := b.reader.Progress(b.ctx, "race")
	require.NoError(t, err)
	require.Equal(t, progressAt("race", total), got)
	history, err := b.reader.History(b.ctx, "race", 0, 0)
	require.NoError(t, err)
	require.Equal(t, records(1, total), history)
}
