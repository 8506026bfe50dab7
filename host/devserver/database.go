package devserver

import (
	"bytes"
	gosql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/server/common/config"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	dbschemas "go.temporal.io/server/schema"
	sqliteschema "go.temporal.io/server/schema/sqlite"
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

// schemaStore is one of the two schemas that live in the SQLite files,
// with the version this server needs and where its upgrades are.
type schemaStore struct {
	name      string // key in the schema_version table
	schema    string // the schema of a new database, in the server's embedded schemas
	versioned string // directory of the upgrades in the server's embedded schemas
	version   string
	table     string // a table that only this schema has
}

var (
	mainSchema       = schemaStore{name: "temporal", schema: "sqlite/v3/temporal/schema.sql", versioned: "sqlite/v3/temporal/versioned", version: sqliteschema.Version, table: "executions"}
	visibilitySchema = schemaStore{name: "temporal_visibility", schema: "sqlite/v3/visibility/schema.sql", versioned: "sqlite/v3/visibility/versioned", version: sqliteschema.VisibilityVersion, table: "executions_visibility"}
)

// databases are the connections of the two stores.
type databases struct {
	main, visibility *config.SQL
}

// prepareDatabases makes the stores ready for the server: in memory, or in
// dataDir (temporal.db and visibility.db), created with the current
// schema or upgraded to it; then the namespace, with statedriven's search
// attributes, if missing.
//
// The Temporal server records no schema version for SQLite, so this
// package keeps one, in the schema_version table that Temporal's SQL tool
// uses for the other databases: an upgrade of the server module then
// applies the server's own versioned SQL files to data dirs made before.
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

func openAdmin(cfg *config.SQL) (sqlplugin.AdminDB, error) {
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, cfg, resolver.NewNoopResolver(), serverlog.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return db, nil
}

// prepareMain readies the main store's file: its schema, then its
// membership.
func prepareMain(cfg *config.SQL, zl *zap.Logger) error {
	db, err := openAdmin(cfg)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if _, err := prepareSchema(db, cfg.DatabaseName, zl, mainSchema); err != nil {
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
	db, err := openAdmin(cfg)
	if err != nil {
		return err
	}
	_, err = prepareSchema(db, cfg.DatabaseName, zl, visibilitySchema)
	_ = db.Close()
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

// prepareSchema creates store's schema in a new (or empty) database, and
// says so, or upgrades an existing one to this server's version.
func prepareSchema(db sqlplugin.AdminDB, name string, zl *zap.Logger, store schemaStore) (created bool, err error) {
	tables, err := db.ListTables(name)
	if err != nil {
		return false, fmt.Errorf("list tables: %w", err)
	}
	switch {
	case len(tables) == 0:
		if err := createSchema(db, store); err != nil {
			return false, fmt.Errorf("create the schema (remove the file and start again): %w", err)
		}
		if err := db.CreateSchemaVersionTables(); err != nil {
			return false, fmt.Errorf("create the schema version tables: %w", err)
		}
		return true, stamp(db, store, "0", store.version, "created by statedriven's dev server")
	case !slices.Contains(tables, store.table):
		return false, errors.New("the file is not a Temporal database: give another --dev-data-dir")
	case !slices.Contains(tables, "schema_version"):
		// Made by `temporal server start-dev --db-filename` or another
		// tool that records no version: take it as current.
		if err := db.CreateSchemaVersionTables(); err != nil {
			return false, fmt.Errorf("create the schema version tables: %w", err)
		}
	}
	return false, upgrade(db, store, zl)
}

// createSchema runs the server's schema of store on an empty database.
func createSchema(db sqlplugin.AdminDB, store schemaStore) error {
	f, err := dbschemas.Assets().Open(store.schema)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	statements, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{f})
	if err != nil {
		return err
	}
	for _, stmt := range statements {
		if err := db.Exec(stmt); err != nil {
			return err
		}
	}
	return nil
}

// upgrade brings one store from its recorded version to s.version.
func upgrade(db sqlplugin.AdminDB, s schemaStore, zl *zap.Logger) error {
	current, err := db.ReadSchemaVersion(s.name)
	if errors.Is(err, gosql.ErrNoRows) {
		zl.Warn("the database records no schema version; taking it as the current one",
			zap.String("schema", s.name), zap.String("version", s.version))
		return stamp(db, s, "", s.version, "version recorded by statedriven's dev server")
	}
	if err != nil {
		return fmt.Errorf("read the %s schema version: %w", s.name, err)
	}
	switch c := compareVersions(current, s.version); {
	case c == 0:
		return nil
	case c > 0:
		return fmt.Errorf("the %s schema is at version %s, newer than this server's %s: the data dir was made by a newer statedriven; use that, or another --dev-data-dir", s.name, current, s.version)
	}

	steps, err := upgradeSteps(s, current)
	if err != nil {
		return err
	}
	for _, step := range steps {
		zl.Info("upgrading the dev database", zap.String("schema", s.name), zap.String("from", current), zap.String("to", step.CurrVersion))
		for _, stmt := range step.statements {
			if err := db.Exec(stmt); err != nil && !alreadyApplied(err) {
				return fmt.Errorf("upgrade the %s schema to %s: %w", s.name, step.CurrVersion, err)
			}
		}
		if err := stamp(db, s, current, step.CurrVersion, step.Description); err != nil {
			return err
		}
		current = step.CurrVersion
	}
	if compareVersions(current, s.version) != 0 {
		return fmt.Errorf("the %s schema is at %s after its upgrades, not at %s", s.name, current, s.version)
	}
	return nil
}

// alreadyApplied is an error from a statement of an upgrade that an
// interrupted earlier attempt already ran.
func alreadyApplied(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "already exists") || strings.Contains(msg, "duplicate column")
}

func stamp(db sqlplugin.AdminDB, s schemaStore, from, to, why string) error {
	if err := db.UpdateSchemaVersion(s.name, to, to); err != nil {
		return fmt.Errorf("record the %s schema version: %w", s.name, err)
	}
	if err := db.WriteSchemaUpdateLog(from, to, "", why); err != nil {
		return fmt.Errorf("record the %s schema update: %w", s.name, err)
	}
	return nil
}

// upgradeStep is one versioned directory of the server's schemas.
type upgradeStep struct {
	CurrVersion          string
	MinCompatibleVersion string
	Description          string
	SchemaUpdateCqlFiles []string
	statements           []string
}

// upgradeSteps reads the upgrades after version from, up to s.version, in
// order.
func upgradeSteps(s schemaStore, from string) ([]upgradeStep, error) {
	fsys := dbschemas.Assets()
	entries, err := fs.ReadDir(fsys, s.versioned)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the %s schema is at %s, and this server has no upgrades for it to %s", s.name, from, s.version)
	}
	if err != nil {
		return nil, fmt.Errorf("read the %s schema upgrades: %w", s.name, err)
	}
	var steps []upgradeStep
	for _, e := range entries {
		v := strings.TrimPrefix(e.Name(), "v")
		if !e.IsDir() || compareVersions(v, from) <= 0 || compareVersions(v, s.version) > 0 {
			continue
		}
		step, err := readStep(fsys, path.Join(s.versioned, e.Name()))
		if err != nil {
			return nil, err
		}
		if step.CurrVersion != v {
			return nil, fmt.Errorf("%s: the manifest says version %s", e.Name(), step.CurrVersion)
		}
		steps = append(steps, step)
	}
	slices.SortFunc(steps, func(a, b upgradeStep) int { return compareVersions(a.CurrVersion, b.CurrVersion) })
	return steps, nil
}

func readStep(fsys fs.FS, dir string) (upgradeStep, error) {
	var step upgradeStep
	manifest, err := fs.ReadFile(fsys, path.Join(dir, "manifest.json"))
	if err != nil {
		return step, fmt.Errorf("schema upgrade %s: %w", dir, err)
	}
	if err := json.Unmarshal(manifest, &step); err != nil {
		return step, fmt.Errorf("schema upgrade %s: manifest: %w", dir, err)
	}
	readers := make([]io.Reader, 0, len(step.SchemaUpdateCqlFiles))
	for _, f := range step.SchemaUpdateCqlFiles {
		b, err := fs.ReadFile(fsys, path.Join(dir, f))
		if err != nil {
			return step, fmt.Errorf("schema upgrade %s: %w", dir, err)
		}
		readers = append(readers, bytes.NewReader(b))
	}
	if step.statements, err = persistence.LoadAndSplitQueryFromReaders(readers); err != nil {
		return step, fmt.Errorf("schema upgrade %s: %w", dir, err)
	}
	return step, nil
}

// compareVersions compares dotted versions number by number: 0.9 < 0.10.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}
