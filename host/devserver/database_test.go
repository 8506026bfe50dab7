package devserver

import (
	gosql "database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// connect opens the schema tool's view of s in file.
func connect(t *testing.T, file string, s schemaStore) schemaDB {
	t.Helper()
	db, err := openSchemaDB(sqliteConfig(file, ""), s)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

// versions returns file's schema version records, by database name.
func versions(t *testing.T, file string) map[string]string {
	t.Helper()
	db, err := gosql.Open(sqliteDriver, "file:"+file)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	rows, err := db.Query("SELECT db_name, curr_version FROM schema_version")
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	out := map[string]string{}
	for rows.Next() {
		var name, v string
		require.NoError(t, rows.Scan(&name, &v))
		out[name] = v
	}
	require.NoError(t, rows.Err())
	return out
}

// columns lists the columns of file's table.
func columns(t *testing.T, file, table string) []string {
	t.Helper()
	db, err := gosql.Open(sqliteDriver, "file:"+file)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	var names []string
	require.NoError(t, eachRow(db, "SELECT name FROM pragma_table_info('"+table+"')", func(s scanner) error {
		var n string
		err := s.Scan(&n)
		names = append(names, n)
		return err
	}))
	return names
}

// No server starts here: these are the database file's life stages.
func TestPrepareSchema(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), DatabaseFile)
	core, logs := observer.New(zap.InfoLevel)
	zl := zap.New(core)
	conn := connect(t, file, mainSchema)

	require.NoError(t, prepareSchema(conn, file, mainSchema, zl), "a new file gets the current schema")
	require.Equal(t, map[string]string{"temporal": sqliteschema.Version}, versions(t, file))
	require.Zero(t, logs.Len(), "a new file is no news")
	require.NoError(t, prepareSchema(conn, file, mainSchema, zl), "a current file is left as it is")
	require.Zero(t, logs.Len())

	// A file of the previous server version: 0.11 added current_chasm_executions.
	require.Equal(t, "0.11", sqliteschema.Version, "this test replays the 0.10 to 0.11 upgrade: update it along with the server module")
	require.NoError(t, conn.Exec("DROP TABLE current_chasm_executions"))
	require.NoError(t, conn.UpdateSchemaVersion("0.10", "0.10"))
	require.NoError(t, prepareSchema(conn, file, mainSchema, zl))
	require.Equal(t, map[string]string{"temporal": "0.11"}, versions(t, file))
	tables, err := conn.ListTables(file)
	require.NoError(t, err)
	require.Contains(t, tables, "current_chasm_executions")
	require.Equal(t, 1, logs.FilterMessage("upgrading the dev database").Len())

	// A file made by a tool that records no version is taken as current.
	require.NoError(t, conn.Exec("DROP TABLE schema_version"))
	require.NoError(t, conn.Exec("DROP TABLE schema_update_history"))
	require.NoError(t, prepareSchema(conn, file, mainSchema, zl))
	require.Equal(t, map[string]string{"temporal": "0.11"}, versions(t, file))
	require.Equal(t, 1, logs.FilterMessage("the database records no schema version; taking it as the current one").Len())

	// A file of a newer server is refused.
	require.NoError(t, conn.UpdateSchemaVersion("0.12", "0.12"))
	require.EqualError(t, prepareSchema(conn, file, mainSchema, zl), "the temporal schema is at version 0.12, newer than this server's 0.11: the data dir was made by a newer statedriven; use that, or another --dev-data-dir")
}

// An upgrade that fails halfway leaves the file as it was: 0.7 adds two
// columns, and the second is there already.
func TestFailedUpgradeChangesNothing(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), DatabaseFile)
	conn := connect(t, file, mainSchema)
	require.NoError(t, prepareSchema(conn, file, mainSchema, zap.NewNop()))
	require.NoError(t, conn.Exec("ALTER TABLE current_executions DROP COLUMN data"))
	require.NoError(t, conn.UpdateSchemaVersion("0.6", "0.6"))
	before := columns(t, file, "current_executions")
	require.NotContains(t, before, "data")

	err := prepareSchema(conn, file, mainSchema, zap.NewNop())
	require.ErrorContains(t, err, "upgrade the temporal schema from 0.6 to 0.11: ")
	require.ErrorContains(t, err, "duplicate column name: data_encoding")
	require.Equal(t, before, columns(t, file, "current_executions"), "the column the upgrade added first is gone again")
	require.Equal(t, map[string]string{"temporal": "0.6"}, versions(t, file))
}

func TestPrepareSchemaRefusesAnotherDatabase(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), DatabaseFile)
	conn := connect(t, file, mainSchema)
	require.NoError(t, conn.Exec("CREATE TABLE notes (body TEXT)"))
	require.EqualError(t, prepareSchema(conn, file, mainSchema, zap.NewNop()),
		"the file is not a Temporal database: give another --dev-data-dir")
}

// The visibility file has the visibility schema alone, versioned.
func TestPrepareVisibilitySchema(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), VisibilityFile)
	conn := connect(t, file, visibilitySchema)
	require.NoError(t, prepareSchema(conn, file, visibilitySchema, zap.NewNop()))
	require.Equal(t, map[string]string{"temporal_visibility": sqliteschema.VisibilityVersion}, versions(t, file))
	tables, err := conn.ListTables(file)
	require.NoError(t, err)
	require.Contains(t, tables, "executions_visibility")
	require.NotContains(t, tables, "executions")
	require.EqualError(t, prepareSchema(connect(t, file, mainSchema), file, mainSchema, zap.NewNop()),
		"the file is not a Temporal database: give another --dev-data-dir", "a visibility file is no main store")

	// The server has no upgrades of this schema (TestNoVisibilityUpgradesYet).
	require.NoError(t, conn.UpdateSchemaVersion("0.0.1", "0.0.1"))
	require.EqualError(t, prepareSchema(conn, file, visibilitySchema, zap.NewNop()),
		"the temporal_visibility schema is at 0.0.1, and this server has no upgrades of it to 0.1")
}

// The list of runs of an old main file is copied into the visibility
// file once, even when an earlier start stopped between creating the
// visibility file and copying into it.
func TestCopyVisibilityOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mainFile, visFile := filepath.Join(dir, DatabaseFile), filepath.Join(dir, VisibilityFile)
	require.NoError(t, sqliteschema.SetupSchema(sqliteConfig(mainFile, "")), "an old main file lists its runs itself, as start-dev's does")
	main := connect(t, mainFile, mainSchema)
	require.NoError(t, main.Exec(`INSERT INTO executions_visibility
		(namespace_id, run_id, start_time, execution_time, workflow_id, workflow_type_name, status, encoding)
		VALUES ('ns', 'r1', '2026-11-27 10:00:00', '2026-11-27 10:00:00', 'w1', 'StateDrivenWorkflow', 2, 'json')`))

	// A start that created the visibility file and stopped there.
	require.NoError(t, prepareSchema(connect(t, visFile, visibilitySchema), visFile, visibilitySchema, zap.NewNop()))
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
