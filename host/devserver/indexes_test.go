package devserver

import (
	gosql "database/sql"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	dbschemas "go.temporal.io/server/schema"
	"go.uber.org/zap"
)

// indexNames lists the indexes of visFile's list of runs.
func indexNames(t *testing.T, visFile string) map[string]bool {
	t.Helper()
	db, err := gosql.Open(sqliteDriver, "file:"+visFile)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	names, err := visibilityIndexNames(db)
	require.NoError(t, err)
	return names
}

// A new data dir keeps the indexes over the row's own columns and over
// the slots statedriven's search attributes are mapped to, and none of
// the others; an index dropped by hand on a mapped slot comes back at the
// next start.
func TestDataDirKeepsTheIndexesItIsSearchedBy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbs, err := prepareDatabases(dir, "default", zap.NewNop())
	require.NoError(t, err)
	visFile := filepath.Join(dir, VisibilityFile)

	mapped, err := mappedFields(filepath.Join(dir, DatabaseFile))
	require.NoError(t, err)
	require.Len(t, mapped, 4, "WorkflowState, DefinitionName, WorkflowProgress, RedrivenFrom")

	all, err := schemaIndexes()
	require.NoError(t, err)
	require.Len(t, all, 58, "the server's schema changed: look again at what to keep")
	names := indexNames(t, visFile)
	for _, ix := range all {
		slot := ix.column
		switch {
		case strings.HasPrefix(ix.name, "by_temporal_") || ix.name == "by_batcher_user":
			require.False(t, names[ix.name], "%s is over one of Temporal's own attributes", ix.name)
		case mapped[slot]:
			require.True(t, names[ix.name], "%s is over a mapped slot", ix.name)
		case isCustomSlot(slot):
			require.False(t, names[ix.name], "%s is over an unmapped slot", ix.name)
		default:
			require.True(t, names[ix.name], "%s is over the row's own columns", ix.name)
		}
	}
	require.True(t, names["default_idx"])
	require.True(t, names["by_workflow_id"])
	require.Len(t, names, 14+4)

	var one string
	for f := range mapped {
		one = f
	}
	idx := "by_" + strings.ToLower(one[:len(one)-2]) + "_" + one[len(one)-2:]
	db, err := gosql.Open(sqliteDriver, "file:"+visFile)
	require.NoError(t, err)
	_, err = db.Exec("DROP INDEX " + idx)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.False(t, indexNames(t, visFile)[idx])

	dropped, created, err := tuneVisibilityIndexes(dbs.visibility.DatabaseName, dbs.main.DatabaseName)
	require.NoError(t, err)
	require.Equal(t, 0, dropped)
	require.Equal(t, 1, created)
	require.True(t, indexNames(t, visFile)[idx])
}

// isCustomSlot says whether column is one of the slots that namespaces
// map custom search attributes to.
func isCustomSlot(column string) bool {
	for _, p := range []string{"Bool", "Datetime", "Double", "Int", "Keyword", "Text"} {
		if strings.HasPrefix(column, p) && len(column) == len(p)+2 {
			return true
		}
	}
	return false
}

// The dev server drops indexes that the server's visibility schema
// creates. An upgrade of that schema could name one of them: when the
// server ships its first, make prepareSchema create the schema's indexes
// again before it applies upgrades, then update this test.
func TestNoVisibilityUpgradesYet(t *testing.T) {
	_, err := fs.Stat(dbschemas.Assets(), path.Join(visibilitySchema.dir, "versioned"))
	require.ErrorIs(t, err, fs.ErrNotExist, "the server now ships upgrades of the SQLite visibility schema")
}
