package devserver

import (
	"os"
	"runtime/debug"

	"go.uber.org/zap"
)

// DevGCPercent is the garbage collector's target (GOGC) in a dev-mode
// process, unless the GOGC variable says otherwise.
//
// The dev server keeps 50–80 MB of live heap (its caches of runs and
// histories) and allocates fast while runs go through it. At Go's default
// of 100 it collected every 0.7–1 s, and each collection's marking took
// 50–110 ms of the two CPUs this was measured on. Of the runs that
// reached their first step in 10 ms or more, four in seven had started
// during one (BENCHMARKS.md). At 400 it collects four to five times less
// often; the price is memory: 0.5–0.7 GB resident at its peak in a
// benchmark of a few thousand runs, against 0.3–0.4 GB.
const DevGCPercent = 400

// tuneGC sets DevGCPercent for the process, unless GOGC is set.
func tuneGC(logger *zap.Logger) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		logger.Debug("the garbage collector keeps GOGC from the environment", zap.String("GOGC", v))
		return
	}
	debug.SetGCPercent(DevGCPercent)
}
