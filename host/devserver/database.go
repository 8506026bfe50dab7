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

// DatabaseFile is the SQLite file's name inside Options.DataDir.
const DatabaseFile = "temporal.db"

// schemaStore is one of the two schemas that live in the SQLite file,
// with the version this server needs and where its upgrades are.
type schemaStore struct {
	name      string // key in the schema_version table
	versioned string // directory of the upgrades in the server's embedded schemas
	version   string
}

var schemaStores = [...]schemaStore{
	{name: "temporal", versioned: "sqlite/v3/temporal/versioned", version: sqliteschema.Version},
	{name: "temporal_visibility", versioned: "sqlite/v3/visibility/versioned", version: sqliteschema.VisibilityVersion},
}

// prepareDatabase makes the store ready for the server: in memory, or in
// dataDir/temporal.db, created with the current schema or upgraded to it;
// then the namespace, with statedriven's search attributes, if missing.
//
// The Temporal server records no schema version for SQLite, so this
// package keeps one, in the schema_version table that Temporal's SQL tool
// uses for the other databases: an upgrade of the server module then
// applies the server's own versioned SQL files to data dirs made before.
func prepareDatabase(dataDir, namespace string, zl *zap.Logger) (*config.SQL, error) {
	var cfg *config.SQL
	if dataDir == "" {
		// The plugin creates the schema of an in-memory database itself.
		cfg = sqliteConfig("", "statedriven-"+strconv.FormatUint(rand.Uint64(), 36))
	} else {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("dev data dir: %w", err)
		}
		file := filepath.Join(dataDir, DatabaseFile)
		cfg = sqliteConfig(file, "")
		if err := prepareFile(cfg, zl); err != nil {
			return nil, fmt.Errorf("database %s: %w", file, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, host.SearchAttributes())
	if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(cfg, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", namespace, err)
	}
	return cfg, nil
}

// prepareFile readies a database file: its schema, then its membership.
func prepareFile(cfg *config.SQL, zl *zap.Logger) error {
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, cfg, resolver.NewNoopResolver(), serverlog.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer func() { _ = db.Close() }()
	if err := prepareSchema(db, cfg.DatabaseName, zl); err != nil {
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

// prepareSchema creates the schema of a new (or empty) file, or upgrades
// an existing one to this server's version.
func prepareSchema(db sqlplugin.AdminDB, name string, zl *zap.Logger) error {
	tables, err := db.ListTables(name)
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	switch {
	case len(tables) == 0:
		if err := sqliteschema.SetupSchemaOnDB(db); err != nil {
			return fmt.Errorf("create the schema (remove the file and start again): %w", err)
		}
		if err := db.CreateSchemaVersionTables(); err != nil {
			return fmt.Errorf("create the schema version tables: %w", err)
		}
		for _, s := range schemaStores {
			if err := stamp(db, s, "0", s.version, "created by statedriven's dev server"); err != nil {
				return err
			}
		}
		return nil
	case !slices.Contains(tables, "executions"):
		return errors.New("the file is not a Temporal database: give another --dev-data-dir")
	case !slices.Contains(tables, "schema_version"):
		// Made by `temporal server start-dev --db-filename` or another
		// tool that records no version: take it as current.
		if err := db.CreateSchemaVersionTables(); err != nil {
			return fmt.Errorf("create the schema version tables: %w", err)
		}
	}
	for _, s := range schemaStores {
		if err := upgrade(db, s, zl); err != nil {
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
