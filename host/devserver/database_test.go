package devserver

import (
	gosql "database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func adminDB(t *testing.T, file string) sqlplugin.AdminDB {
	t.Helper()
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, sqliteConfig(file, ""), resolver.NewNoopResolver(), serverlog.NewNoopLogger(), metrics.NoopMetricsHandler)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func version(t *testing.T, db sqlplugin.AdminDB, store string) string {
	t.Helper()
	v, err := db.ReadSchemaVersion(store)
	require.NoError(t, err)
	return v
}

// No server starts here: these are the database file's life stages.
func TestPrepareSchema(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), DatabaseFile)
	core, logs := observer.New(zap.InfoLevel)
	zl := zap.New(core)
	db := adminDB(t, file)

	created, err := prepareSchema(db, file, zl, mainSchema)
	require.NoError(t, err, "a new file gets the current schema")
	require.True(t, created)
	require.Equal(t, sqliteschema.Version, version(t, db, "temporal"))
	created, err = prepareSchema(db, file, zl, mainSchema)
	require.NoError(t, err, "a current file is left as it is")
	require.False(t, created)

	// A file of the previous server version: 0.11 added current_chasm_executions.
	require.Equal(t, "0.11", sqliteschema.Version, "this test replays the 0.10 to 0.11 upgrade: update it along with the server module")
	require.NoError(t, db.Exec("DROP TABLE current_chasm_executions"))
	require.NoError(t, db.UpdateSchemaVersion("temporal", "0.10", "0.10"))
	require.NoError(t, second(prepareSchema(db, file, zl, mainSchema)))
	require.Equal(t, "0.11", version(t, db, "temporal"))
	tables, err := db.ListTables(file)
	require.NoError(t, err)
	require.Contains(t, tables, "current_chasm_executions")
	require.Equal(t, 1, logs.FilterMessage("upgrading the dev database").Len())

	// A file made by a tool that records no version is taken as current.
	require.NoError(t, db.Exec("DROP TABLE schema_version"))
	require.NoError(t, db.Exec("DROP TABLE schema_update_history"))
	require.NoError(t, second(prepareSchema(db, file, zl, mainSchema)))
	require.Equal(t, "0.11", version(t, db, "temporal"))
	require.Equal(t, 1, logs.FilterMessage("the database records no schema version; taking it as the current one").Len())

	// A file of a newer server is refused.
	require.NoError(t, db.UpdateSchemaVersion("temporal", "0.12", "0.12"))
	require.EqualError(t, second(prepareSchema(db, file, zl, mainSchema)), "the temporal schema is at version 0.12, newer than this server's 0.11: the data dir was made by a newer statedriven; use that, or another --dev-data-dir")
}

func TestPrepareSchemaRefusesAnotherDatabase(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), DatabaseFile)
	db := adminDB(t, file)
	require.NoError(t, db.Exec("CREATE TABLE notes (body TEXT)"))
	require.EqualError(t, second(prepareSchema(db, file, zap.NewNop(), mainSchema)),
		"the file is not a Temporal database: give another --dev-data-dir")
}

// The visibility file has the visibility schema alone, versioned.
func TestPrepareVisibilitySchema(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), VisibilityFile)
	db := adminDB(t, file)
	created, err := prepareSchema(db, file, zap.NewNop(), visibilitySchema)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, sqliteschema.VisibilityVersion, version(t, db, "temporal_visibility"))
	tables, err := db.ListTables(file)
	require.NoError(t, err)
	require.Contains(t, tables, "executions_visibility")
	require.NotContains(t, tables, "executions")
	require.EqualError(t, second(prepareSchema(db, file, zap.NewNop(), mainSchema)),
		"the file is not a Temporal database: give another --dev-data-dir", "a visibility file is no main store")
}

func second[T any](_ T, err error) error { return err }

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	require.Negative(t, compareVersions("0.9", "0.10"))
	require.Positive(t, compareVersions("0.11", "0.2"))
	require.Zero(t, compareVersions("0.1", "0.1.0"))
	require.Negative(t, compareVersions("0.99", "1.0"))
}

// The list of runs of an old main file is copied into the visibility
// file once, even when an earlier start stopped between creating the
// visibility file and copying into it.
func TestCopyVisibilityOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mainFile, visFile := filepath.Join(dir, DatabaseFile), filepath.Join(dir, VisibilityFile)
	main := adminDB(t, mainFile)
	require.NoError(t, createSchema(main, visibilitySchema), "an old main file lists its runs itself")
	require.NoError(t, main.Exec(`INSERT INTO executions_visibility
		(namespace_id, run_id, start_time, execution_time, workflow_id, workflow_type_name, status, encoding)
		VALUES ('ns', 'r1', '2026-11-27 10:00:00', '2026-11-27 10:00:00', 'w1', 'StateDrivenWorkflow', 2, 'json')`))

	// A start that created the visibility file and stopped there.
	vis := adminDB(t, visFile)
	created, err := prepareSchema(vis, visFile, zap.NewNop(), visibilitySchema)
	require.NoError(t, err)
	require.True(t, created)
	count := func() int {
		db, err := gosql.Open(sqliteDriver, "file:"+visFile)
		require.NoError(t, err)
		defer func() { _ = db.Close() }()
		var n int
		require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM executions_visibility WHERE workflow_id = 'w1'").Scan(&n))
		return n
	}
	require.Zero(t, count())

	core, logs := observer.New(zap.InfoLevel)
	require.NoError(t, prepareVisibility(sqliteConfig(visFile, ""), mainFile, zap.New(core)))
	require.Equal(t, 1, count(), "the next start copies")
	require.Equal(t, 1, logs.FilterMessage("moved the list of runs into its own file").Len())

	// Later starts copy nothing again, even if the old rows change.
	require.NoError(t, main.Exec("UPDATE executions_visibility SET run_id = 'r2' WHERE run_id = 'r1'"))
	require.NoError(t, prepareVisibility(sqliteConfig(visFile, ""), mainFile, zap.New(core)))
	require.Equal(t, 1, count())
	require.Equal(t, 1, logs.FilterMessage("moved the list of runs into its own file").Len())

	// A new visibility file (the old one removed) starts empty: the old
	// list is out of date by then. (A new name: the server's SQLite
	// plugin keeps its connections to a file name for the life of the
	// process.)
	visFile = filepath.Join(t.TempDir(), VisibilityFile)
	require.NoError(t, prepareVisibility(sqliteConfig(visFile, ""), mainFile, zap.New(core)))
	require.Zero(t, count())
}
