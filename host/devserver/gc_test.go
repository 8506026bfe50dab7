package devserver

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// Dev mode collects garbage less often than Go's default, within a soft
// memory limit, unless GOGC and GOMEMLIMIT say otherwise. Not parallel:
// the settings are the process's.
func TestDevModeTunesTheGarbageCollector(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})

	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Setenv(v, "")
		require.NoError(t, os.Unsetenv(v))
	}
	TuneGC(zap.NewNop())
	require.Equal(t, DevGCPercent, debug.SetGCPercent(100))
	require.EqualValues(t, DevMemoryLimit, debug.SetMemoryLimit(math.MaxInt64))

	t.Setenv("GOGC", "100")
	t.Setenv("GOMEMLIMIT", "off")
	TuneGC(zap.NewNop())
	require.Equal(t, 100, debug.SetGCPercent(100), "GOGC from the environment wins")
	require.EqualValues(t, int64(math.MaxInt64), debug.SetMemoryLimit(math.MaxInt64), "GOMEMLIMIT from the environment wins")
}
