package devserver

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// Dev mode collects garbage less often than Go's default, unless the
// GOGC variable says how often. Not parallel: the setting is the process's.
func TestDevModeTunesTheGarbageCollector(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	t.Setenv("GOGC", "")
	require.NoError(t, os.Unsetenv("GOGC"))
	tuneGC(zap.NewNop())
	require.Equal(t, DevGCPercent, debug.SetGCPercent(100))

	t.Setenv("GOGC", "100")
	tuneGC(zap.NewNop())
	require.Equal(t, 100, debug.SetGCPercent(100), "GOGC from the environment wins")
}

// A log that stays within the backstop is never cut back when it
// restarts: cutting a large one back held a commit up 16 ms.
func TestTheLogIsNotCutBelowTheBackstop(t *testing.T) {
	require.GreaterOrEqual(t, walSizeLimit, walBackstopPages*4096)
}
