package devserver

import (
	gosql "database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blang/semver/v4"
	"go.temporal.io/server/common/config"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	dbschemas "go.temporal.io/server/schema"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/tools/common/schema"
	"go.uber.org/zap"

	"github.com/statedriven/statedriven/host"
)

// DatabaseFile is the SQLite file of the main store (runs, their
// histories, task queues, namespaces) inside Options.DataDir.
const DatabaseFile = "temporal.db"

// VisibilityFile is the SQLite file of the visibility store (the list of
// runs and their search attributes, which the Web UI and `starter list`
// read) inside Options.DataDir. It is a file of its own so that its
// writes, which SQLite makes slow (full-text indexes on every row), never
// hold the main store's one connection while a run waits to move on
// (BENCHMARKS.md).
const VisibilityFile = "visibility.db"

// sqliteDriver is the database/sql driver of the server's SQLite plugin
// (modernc.org/sqlite), which registers it.
const sqliteDriver = "sqlite"

// schemaStore is one of the two schemas that live in the SQLite files:
// where the server keeps it, and the version this server needs.
type schemaStore struct {
	name string // key of its version in the schema_version table
	// dir is the schema's directory in the server's embedded schemas:
	// schema.sql, and versioned/ with its upgrades if it has any.
	dir     string
	version string
	table   string // a table that only this schema has
}

var (
	mainSchema       = schemaStore{name: "temporal", dir: "sqlite/v3/temporal", version: sqliteschema.Version, table: "executions"}
	visibilitySchema = schemaStore{name: "temporal_visibility", dir: "sqlite/v3/visibility", version: sqliteschema.VisibilityVersion, table: "executions_visibility"}
)

// databases are the connections of the two stores.
type databases struct {
	main, visibility *config.SQL
}

// prepareDatabases makes the stores ready for the server: in memory, or in
// dataDir (temporal.db and visibility.db), created with the current
// schema or upgraded to it by the server's schema tool (prepareSchema);
// then the namespace, with statedriven's search attributes, if missing.
//
// A data dir made before visibility.db existed keeps its list of runs in
// temporal.db: the first start copies them into the new visibility.db.
// Every start then keeps only the list's indexes that the dev server is
// searched by (tuneVisibilityIndexes).
func prepareDatabases(dataDir, namespace string, zl *zap.Logger) (databases, error) {
	var dbs databases
	if dataDir == "" {
		// The plugin creates the schemas of an in-memory database itself.
		name := "statedriven-" + strconv.FormatUint(rand.Uint64(), 36)
		dbs = databases{main: sqliteConfig("", name), visibility: sqliteConfig("", name+"-visibility")}
	} else {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return dbs, fmt.Errorf("dev data dir: %w", err)
		}
		mainFile, visFile := filepath.Join(dataDir, DatabaseFile), filepath.Join(dataDir, VisibilityFile)
		dbs = databases{main: sqliteConfig(mainFile, ""), visibility: sqliteConfig(visFile, "")}
		if err := prepareMain(dbs.main, zl); err != nil {
			return dbs, fmt.Errorf("database %s: %w", mainFile, err)
		}
		if err := prepareVisibility(dbs.visibility, mainFile, zl); err != nil {
			return dbs, fmt.Errorf("database %s: %w", visFile, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, host.SearchAttributes())
	if err != nil {
		return dbs, fmt.Errorf("namespace %q: %w", namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(dbs.main, ns); err != nil {
		return dbs, fmt.Errorf("create namespace %q: %w", namespace, err)
	}
	if dataDir != "" {
		// Only speed depends on it: the server runs with the indexes it has.
		dropped, created, err := tuneVisibilityIndexes(dbs.visibility.DatabaseName, dbs.main.DatabaseName)
		switch {
		case err != nil:
			zl.Warn("cannot tune the indexes of the list of runs; it keeps those it has", zap.String("file", dbs.visibility.DatabaseName), zap.Error(err))
		case dropped+created > 0:
			zl.Debug("indexes of the list of runs tuned", zap.Int("dropped", dropped), zap.Int("created", created))
		}
	}
	return dbs, nil
}

// prepareMain readies the main store's file: its schema, then its
// membership.
func prepareMain(cfg *config.SQL, zl *zap.Logger) error {
	db, err := openSchemaDB(cfg, mainSchema)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := prepareSchema(db, cfg.DatabaseName, mainSchema, zl); err != nil {
		return err
	}
	// The services of the last run stay in the membership table for a
	// while after it stops; the new ones would try to join them first
	// and serve nothing for many seconds. This server is the cluster's
	// only member: forget them.
	if err := db.Exec("DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("forget the last run's cluster members: %w", err)
	}
	return nil
}

// prepareVisibility readies the visibility store's file, and fills it,
// once, with the runs that mainFile lists, if it has a visibility table
// (the data dirs of statedriven before visibility.db, and those of
// `temporal server start-dev --db-filename`).
func prepareVisibility(cfg *config.SQL, mainFile string, zl *zap.Logger) error {
	db, err := openSchemaDB(cfg, visibilitySchema)
	if err != nil {
		return err
	}
	err = prepareSchema(db, cfg.DatabaseName, visibilitySchema, zl)
	db.Close()
	if err != nil {
		return err
	}
	n, err := copyVisibility(cfg.DatabaseName, mainFile)
	if err != nil {
		return fmt.Errorf("copy the list of runs from %s: %w", mainFile, err)
	}
	if n > 0 {
		zl.Info("moved the list of runs into its own file", zap.Int64("runs", n), zap.String("file", cfg.DatabaseName))
	}
	return nil
}

// copiedMarker is the table of visFile that says its copy of the main
// file's list of runs is done (or that there was none to make). It is
// written in the copy's own transaction: a start that stops halfway
// leaves neither, and the next start copies again.
const copiedMarker = "statedriven_visibility_copied"

// movedMarker is the table of the main file that says its list of runs
// has been copied into a visibility file once, and is not to be copied
// again.
const movedMarker = "statedriven_visibility_moved"

// copyVisibility copies the rows of mainFile's visibility table, if it
// has one and visFile has not had them yet, into visFile's, column by
// column (an upgraded file may order its columns otherwise than a new
// one), and returns how many it copied.
func copyVisibility(visFile, mainFile string) (int64, error) {
	db, err := gosql.Open(sqliteDriver, "file:"+visFile)
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	// ATTACH and the transaction hold for the connection that runs them:
	// keep to one.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS " + copiedMarker + " (at TEXT NOT NULL)"); err != nil {
		return 0, err
	}
	var done int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + copiedMarker).Scan(&done); err != nil || done > 0 {
		return 0, err
	}
	if _, err := db.Exec("ATTACH DATABASE ? AS old", mainFile); err != nil {
		return 0, err
	}
	// table_info leaves out the generated columns, which take no values.
	columns := func(schema string) ([]string, error) {
		rows, err := db.Query("SELECT name FROM pragma_table_info('executions_visibility', ?)", schema)
		if err != nil {
			return nil, err
		}
		defer func() { _ = rows.Close() }()
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			names = append(names, n)
		}
		return names, rows.Err()
	}
	oldCols, err := columns("old")
	if err != nil {
		return 0, err
	}
	newCols, err := columns("main")
	if err != nil {
		return 0, err
	}
	var cols []string
	for _, c := range newCols {
		if slices.Contains(oldCols, c) {
			cols = append(cols, `"`+c+`"`)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	// The main file remembers that its list moved, so that a
	// visibility.db removed later is not refilled with that old list
	// (its runs would show as they were then).
	var moved int
	if err := tx.QueryRow("SELECT COUNT(*) FROM old.sqlite_master WHERE name = ?", movedMarker).Scan(&moved); err != nil {
		return 0, err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	var n int64
	if len(oldCols) > 0 && moved == 0 {
		list := strings.Join(cols, ", ")
		res, err := tx.Exec("INSERT OR IGNORE INTO main.executions_visibility (" + list + ") SELECT " + list + " FROM old.executions_visibility")
		if err != nil {
			return 0, err
		}
		if n, err = res.RowsAffected(); err != nil {
			return 0, err
		}
		if _, err := tx.Exec("CREATE TABLE old." + movedMarker + " (at TEXT NOT NULL, file TEXT NOT NULL)"); err != nil {
			return 0, err
		}
		if _, err := tx.Exec("INSERT INTO old."+movedMarker+" (at, file) VALUES (?, ?)", now, visFile); err != nil {
			return 0, err
		}
	}
	if _, err := tx.Exec("INSERT INTO "+copiedMarker+" (at) VALUES (?)", now); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// schemaDB is a store's database as the server's schema tool works on
// it (schema.DB), over the server's SQL plugin like the tool's own
// (go.temporal.io/server/tools/sql), with one difference: it files the
// version under the schema's name ("temporal", "temporal_visibility"),
// where statedriven always has, rather than under the database's name,
// which for SQLite is the file's path. A path changes when a data dir
// moves or is named from another directory, and the data dirs of
// statedriven before visibility.db hold both schemas, and both their
// versions, in one file. An older statedriven reads these versions too.
type schemaDB struct {
	sqlplugin.AdminDB
	name string
}

var _ schema.DB = schemaDB{}

func openSchemaDB(cfg *config.SQL, s schemaStore) (schemaDB, error) {
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, cfg, resolver.NewNoopResolver(), serverlog.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return schemaDB{}, fmt.Errorf("open: %w", err)
	}
	return schemaDB{AdminDB: db, name: s.name}, nil
}

// ReadSchemaVersion returns the version of the schema.
func (d schemaDB) ReadSchemaVersion() (string, error) { return d.AdminDB.ReadSchemaVersion(d.name) }

// UpdateSchemaVersion records the version of the schema.
func (d schemaDB) UpdateSchemaVersion(version, minCompatible string) error {
	return d.AdminDB.UpdateSchemaVersion(d.name, version, minCompatible)
}

// DropAllTables refuses: a dev data dir is never set up anew over its runs.
func (d schemaDB) DropAllTables() error { return errors.New("the dev server does not drop its tables") }

// Close closes the connection.
func (d schemaDB) Close() { _ = d.AdminDB.Close() }

// Type is the tool's name for SQL databases.
func (d schemaDB) Type() string { return "sql" }

// prepareSchema creates s's schema in file, a new (or empty) database, or
// upgrades an existing one to this server's version, with the server's
// schema tool (the setup and update tasks of temporal-sql-tool). A file
// without a recorded version (made by `temporal server start-dev
// --db-filename`) is taken to be at this server's version.
func prepareSchema(db schemaDB, file string, s schemaStore, zl *zap.Logger) error {
	tables, err := db.ListTables(file)
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	// The tool's own news (task started, file read, done) is no more than
	// ours: keep its warnings.
	tool := serverlog.NewZapLogger(zl.Named("schema").WithOptions(zap.IncreaseLevel(zap.WarnLevel)))
	switch {
	case len(tables) == 0:
		setup := &schema.SetupConfig{SchemaName: s.dir, InitialVersion: s.version}
		if err := inTransaction(db, schema.NewSetupSchemaTask(db, setup, tool).Run); err != nil {
			return fmt.Errorf("create the schema (remove the file and start again): %w", err)
		}
		return nil
	case !slices.Contains(tables, s.table):
		return errors.New("the file is not a Temporal database: give another --dev-data-dir")
	case !slices.Contains(tables, "schema_version"):
		if err := db.CreateSchemaVersionTables(); err != nil {
			return fmt.Errorf("create the schema version tables: %w", err)
		}
	}
	current, err := db.ReadSchemaVersion()
	switch {
	case errors.Is(err, gosql.ErrNoRows):
		zl.Warn("the database records no schema version; taking it as the current one", zap.String("schema", s.name), zap.String("version", s.version))
		if err := db.UpdateSchemaVersion(s.version, s.version); err != nil {
			return fmt.Errorf("record the %s schema version: %w", s.name, err)
		}
		return db.WriteSchemaUpdateLog("", s.version, "", "version recorded by statedriven's dev server")
	case err != nil:
		return fmt.Errorf("read the %s schema version: %w", s.name, err)
	case current == s.version:
		return nil
	case newer(current, s.version):
		return fmt.Errorf("the %s schema is at version %s, newer than this server's %s: the data dir was made by a newer statedriven; use that, or another --dev-data-dir", s.name, current, s.version)
	}
	if _, err := fs.Stat(dbschemas.Assets(), path.Join(s.dir, "versioned")); err != nil {
		return fmt.Errorf("the %s schema is at %s, and this server has no upgrades of it to %s", s.name, current, s.version)
	}
	zl.Info("upgrading the dev database", zap.String("schema", s.name), zap.String("from", current), zap.String("to", s.version))
	update := &schema.UpdateConfig{SchemaName: s.dir, TargetVersion: s.version}
	if err := inTransaction(db, schema.NewUpdateSchemaTask(db, update, tool).Run); err != nil {
		return fmt.Errorf("upgrade the %s schema from %s to %s: %w", s.name, current, s.version, err)
	}
	return nil
}

// newer says whether version a is after b, as the schema tool orders
// them.
func newer(a, b string) bool {
	va, errA := semver.ParseTolerant(a)
	vb, errB := semver.ParseTolerant(b)
	return errA == nil && errB == nil && va.GT(vb)
}

// inTransaction runs task, the schema tool's work on db, in one
// transaction: a start that stops halfway through leaves the file as it
// was, and the next start does it all again. The tool runs its
// statements one by one, and takes only some failures (an "already
// exists") for the mark of an earlier attempt: a column dropped and then
// added again (0.8) would stop every later start. The plugin gives db
// one connection (Config.MaxConns unset), so every statement of task
// runs in the transaction.
func inTransaction(db schemaDB, task func() error) error {
	if err := db.Exec("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := task(); err != nil {
		return errors.Join(err, db.Exec("ROLLBACK"))
	}
	if err := db.Exec("COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
