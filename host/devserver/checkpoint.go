package devserver

import (
	"context"
	gosql "database/sql"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// CheckpointEvery is how often the dev server moves what its SQLite
// files' write-ahead logs hold into the files themselves.
//
// SQLite does this itself in the commit that makes a log pass
// wal_autocheckpoint pages, and that commit waits for it: it copies the
// pages and syncs both files to disk. The checkpointer does the copying
// and syncing on a connection of its own, beside the server's, so
// commits do not wait for it.
//
// A log only starts again from its beginning when a write begins while
// all of it is copied. Every 500 ms, under a steady stream of runs, some
// commit always landed while the checkpointer copied, so the server's
// log never restarted: it grew until SQLite's own checkpoint fired in a
// commit every 3–4 s (about 5,000 pages a second), which held the server
// up 25–30 ms. Every 100 ms there is less to copy each time, and the log
// restarts every second or so under the same load (BENCHMARKS.md). An
// idle server pays for it with about 0.4% of a CPU.
const CheckpointEvery = 100 * time.Millisecond

// walBackstopPages is where SQLite checkpoints in the commit itself: far
// above what the checkpointer lets a log grow to, unless a long burst of
// writes keeps it from ever catching up. It copies then only what the
// checkpointer has not.
const walBackstopPages = 8192 // 32 MiB of 4 KiB pages

// walSizeLimit is the size in bytes a write-ahead log file is cut back
// to when SQLite restarts it from its beginning. It is the size of a log
// at the backstop (a 32-byte header, then each page with a 24-byte frame
// header): cutting a log file back takes the commit that restarts it up
// to 16 ms (a 64 MiB log cut to 16 MiB), and a log that stays within the
// backstop is never cut.
const walSizeLimit = 32 + walBackstopPages*(24+4096)

// checkpointer runs a passive checkpoint of each file every
// CheckpointEvery until stopped. A passive checkpoint takes no lock that
// a reader or a writer waits on: it copies what it can and leaves the
// rest for the next one.
type checkpointer struct {
	dbs    []*gosql.DB
	files  []string
	logger *zap.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpointer opens a connection to each file and starts the
// checkpoints.
func startCheckpointer(files []string, logger *zap.Logger) (*checkpointer, error) {
	c := &checkpointer{files: files, logger: logger, done: make(chan struct{})}
	for _, f := range files {
		db, err := gosql.Open(sqliteDriver, "file:"+f)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("checkpoints of %s: %w", f, err)
		}
		db.SetMaxOpenConns(1)
		c.dbs = append(c.dbs, db)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.loop(ctx)
	return c, nil
}

func (c *checkpointer) loop(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(CheckpointEvery)
	defer tick.Stop()
	failing := make([]bool, len(c.dbs))
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for i, db := range c.dbs {
				err := checkpoint(ctx, db)
				switch {
				case ctx.Err() != nil:
					return
				case err != nil && !failing[i]:
					// Once per run of failures, not every CheckpointEvery.
					c.logger.Warn("checkpoints of the dev database fail; SQLite checkpoints in its commits meanwhile", zap.String("file", c.files[i]), zap.Error(err))
				case err == nil && failing[i]:
					c.logger.Info("checkpoints of the dev database work again", zap.String("file", c.files[i]))
				}
				failing[i] = err != nil
			}
		}
	}
}

// checkpoint runs a passive checkpoint on db.
func checkpoint(ctx context.Context, db *gosql.DB) error {
	var busy, logPages, copied int
	return db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied)
}

// stop ends the checkpoints and closes the connections. What is left in
// a log stays there, safe, until the next start reads it.
func (c *checkpointer) stop() {
	c.cancel()
	<-c.done
	c.close()
}

func (c *checkpointer) close() {
	for _, db := range c.dbs {
		_ = db.Close()
	}
}
