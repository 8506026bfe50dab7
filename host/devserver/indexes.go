package devserver

import (
	gosql "database/sql"
	"fmt"
	"io/fs"
	"path"
	"regexp"

	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	dbschemas "go.temporal.io/server/schema"
)

// The list of runs (executions_visibility) comes, in the server's SQLite
// schema, with 58 indexes. 44 of them are over generated columns, each a
// JSON_EXTRACT of the run's search attributes: one per attribute that
// Temporal keeps for itself (schedules, batches, worker deployments,
// pauses), one per slot that Temporal's own features map attributes to
// (TemporalKeyword01 and the like), and one per slot a namespace may map
// a custom attribute to (Keyword01 to Keyword10, Int01 to Int03, Bool,
// Double, Datetime). SQLite computes every one of them, for the old row
// and the new, at each write of a run's row: at its start, at each upsert
// of its search attributes and at its close. An update of a row's search
// attributes took 0.80 ms with all of them, and 0.17 ms with the 17
// indexes a dev server with statedriven's three attributes keeps (SQLite
// 3, BENCHMARKS.md); the server writes these rows on the CPUs that run
// the steps.
//
// The dev server keeps the indexes over the row's own columns (workflow
// id, type, status, times, task queue, parents) and over the slots that a
// namespace maps a custom search attribute to (statedriven's
// WorkflowState, DefinitionName, WorkflowProgress and RedrivenFrom, and any that a user
// adds), and drops the rest. A query on an attribute without an index
// still answers: SQLite reads the rows, which for a dev server's
// thousands of runs takes milliseconds. That includes Temporal's own
// queries on them, such as the count of runs on a worker deployment
// version. An attribute added while the server runs gets its index at
// the next start.
//
// Should a later server's schema upgrade name one of the dropped indexes,
// prepareSchema must first create them again from the schema (see
// schemaIndexes); TestNoVisibilityUpgradesYet fails when the server
// ships its first upgrade of this schema.

// indexStatement matches the schema's CREATE INDEX statements on the list
// of runs, and takes the index's name and the column it orders by after
// namespace_id.
var indexStatement = regexp.MustCompile(`(?m)^CREATE INDEX\s+(\w+)\s+ON executions_visibility\s*\(\s*namespace_id\s*,\s*\(?\s*(\w+)[^;]*;`)

// visibilityIndex is one of the schema's indexes on the list of runs.
type visibilityIndex struct {
	name, column, statement string
}

// schemaIndexes returns the indexes of the server's visibility schema.
func schemaIndexes() ([]visibilityIndex, error) {
	file := path.Join(visibilitySchema.dir, "schema.sql")
	b, err := fs.ReadFile(dbschemas.Assets(), file)
	if err != nil {
		return nil, err
	}
	var out []visibilityIndex
	for _, m := range indexStatement.FindAllStringSubmatch(string(b), -1) {
		out = append(out, visibilityIndex{name: m[1], column: m[2], statement: m[0]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no indexes found in %s", file)
	}
	return out, nil
}

// mappedFields returns the columns that the namespaces of mainFile map
// their custom search attributes to ("Keyword01", "Int02").
func mappedFields(mainFile string) (map[string]bool, error) {
	db, err := gosql.Open(sqliteDriver, "file:"+mainFile)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Query("SELECT name, data, data_encoding FROM namespaces")
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	ser := serialization.NewSerializer()
	fields := map[string]bool{}
	for rows.Next() {
		var name, encoding string
		var data []byte
		if err := rows.Scan(&name, &data, &encoding); err != nil {
			return nil, err
		}
		detail, err := ser.NamespaceDetailFromBlob(persistence.NewDataBlob(data, encoding))
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", name, err)
		}
		for field := range detail.GetConfig().GetCustomSearchAttributeAliases() {
			fields[field] = true
		}
	}
	return fields, rows.Err()
}

// tuneVisibilityIndexes drops the indexes of visFile's list of runs that
// the dev server does without, and creates those it keeps that are
// missing (a slot mapped since the last start). It returns how many it
// dropped and created.
func tuneVisibilityIndexes(visFile, mainFile string) (dropped, created int, err error) {
	indexes, err := schemaIndexes()
	if err != nil {
		return 0, 0, err
	}
	mapped, err := mappedFields(mainFile)
	if err != nil {
		return 0, 0, fmt.Errorf("the namespaces' search attributes: %w", err)
	}
	db, err := gosql.Open(sqliteDriver, "file:"+visFile)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	// Generated columns are the hidden ones (2 virtual, 3 stored).
	generated := map[string]bool{}
	if err := eachRow(db, "SELECT name, hidden FROM pragma_table_xinfo('executions_visibility')", func(s scanner) error {
		var name string
		var hidden int
		if err := s.Scan(&name, &hidden); err != nil {
			return err
		}
		generated[name] = hidden == 2 || hidden == 3
		return nil
	}); err != nil {
		return 0, 0, err
	}
	present, err := visibilityIndexNames(db)
	if err != nil {
		return 0, 0, err
	}
	tx, err := db.Begin()
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = tx.Rollback() }()
	for _, ix := range indexes {
		keep := !generated[ix.column] || mapped[ix.column]
		switch {
		case keep && !present[ix.name]:
			if _, err := tx.Exec(ix.statement); err != nil {
				return 0, 0, fmt.Errorf("create index %s: %w", ix.name, err)
			}
			created++
		case !keep && present[ix.name]:
			// ix.name is a word (indexStatement): no quoting to do.
			if _, err := tx.Exec("DROP INDEX " + ix.name); err != nil {
				return 0, 0, fmt.Errorf("drop index %s: %w", ix.name, err)
			}
			dropped++
		}
	}
	return dropped, created, tx.Commit()
}

// visibilityIndexNames lists the indexes of db's list of runs that a
// statement created (not SQLite's own, for primary keys).
func visibilityIndexNames(db *gosql.DB) (map[string]bool, error) {
	names := map[string]bool{}
	err := eachRow(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL", func(s scanner) error {
		var n string
		if err := s.Scan(&n); err != nil {
			return err
		}
		names[n] = true
		return nil
	})
	return names, err
}

// scanner is a row that eachRow hands to its callback.
type scanner interface{ Scan(dest ...any) error }

// eachRow runs query on db and calls f on each row.
func eachRow(db *gosql.DB, query string, f func(scanner) error) error {
	rows, err := db.Query(query)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
