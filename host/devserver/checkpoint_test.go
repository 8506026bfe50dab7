package devserver

import (
	gosql "database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// A writer that never checkpoints leaves its pages in the log; the
// checkpointer copies them into the database file beside it.
func TestCheckpointerCopiesTheLogIntoTheFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "c.db")
	w, err := gosql.Open(sqliteDriver, "file:"+file+"?_pragma=journal_mode(wal)&_pragma=wal_autocheckpoint(0)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	w.SetMaxOpenConns(1)
	_, err = w.Exec("CREATE TABLE t (b BLOB)")
	require.NoError(t, err)
	for range 100 {
		_, err = w.Exec("INSERT INTO t VALUES (randomblob(4000))")
		require.NoError(t, err)
	}
	size := func() int64 {
		fi, err := os.Stat(file)
		require.NoError(t, err)
		return fi.Size()
	}
	require.Less(t, size(), int64(100*4000), "the rows are in the log, not yet in the file")

	c, err := startCheckpointer([]string{file}, zap.NewNop())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return size() >= 100*4000 }, time.Minute, 10*time.Millisecond,
		"the checkpointer copied the rows into the file")
	c.stop()

	var n int
	require.NoError(t, w.QueryRow("SELECT COUNT(*) FROM t").Scan(&n))
	require.Equal(t, 100, n, "the writer goes on as before")
}

// A log at the backstop is not cut back when it restarts: cutting a
// large one back held a commit up 16 ms. The log's size there is its
// header and a frame (header and page) per page.
func TestTheLogIsNotCutBelowTheBackstop(t *testing.T) {
	db, err := gosql.Open(sqliteDriver, "file:"+filepath.Join(t.TempDir(), "p.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	var page int
	require.NoError(t, db.QueryRow("PRAGMA page_size").Scan(&page))
	require.GreaterOrEqual(t, walSizeLimit, 32+walBackstopPages*(24+page))
}
