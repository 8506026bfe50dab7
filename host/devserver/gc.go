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
// often.
const DevGCPercent = 400

// DevMemoryLimit is the soft limit (GOMEMLIMIT) on the Go memory of a
// dev-mode process, unless the GOMEMLIMIT variable says otherwise. It
// keeps DevGCPercent from letting the heap grow to five times what is
// live in a burst of runs: with 200 runs at once the process reached
// 1.1–1.3 GB resident without it, against 0.5 GB at Go's defaults. Below
// the limit it changes nothing; near it the collector runs more often.
const DevMemoryLimit = 512 << 20

// TuneGC sets DevGCPercent and DevMemoryLimit for the whole process, each
// unless its variable is set (GOGC, GOMEMLIMIT; GOMEMLIMIT=off for no
// limit).
func TuneGC(logger *zap.Logger) {
	if logger == nil {
		logger = zap.NewNop()
	}
	if v, ok := os.LookupEnv("GOGC"); ok {
		logger.Debug("the garbage collector keeps GOGC from the environment", zap.String("GOGC", v))
	} else {
		debug.SetGCPercent(DevGCPercent)
	}
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		logger.Debug("the garbage collector keeps GOMEMLIMIT from the environment", zap.String("GOMEMLIMIT", v))
	} else {
		debug.SetMemoryLimit(DevMemoryLimit)
	}
}
