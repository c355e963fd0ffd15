package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/record"
)

// tableColumn is one column of an existing table.
type tableColumn struct {
	name       string
	typ        string // format_type()
	notNull    bool
	hasDefault bool // a default, an identity or a generated value
	generated  bool
}

// errNoTable is returned by describeTable for a table that does not exist.
var errNoTable = errors.New("no such table")

// describeTable returns the columns of the table quoted (a sanitized,
// possibly qualified name), or errNoTable.
func describeTable(ctx context.Context, conn *pgx.Conn, quoted string) ([]tableColumn, error) {
	var oid *uint32
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1)::oid", quoted).Scan(&oid); err != nil {
		return nil, err
	}
	if oid == nil {
		return nil, errNoTable
	}
	rows, err := conn.Query(ctx, `SELECT attname, format_type(atttypid, atttypmod), attnotnull,
		atthasdef OR attidentity <> '' OR attgenerated <> '', attgenerated <> ''
		FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, *oid)
	if err != nil {
		return nil, err
	}
	var cols []tableColumn
	for rows.Next() {
		var c tableColumn
		if err := rows.Scan(&c.name, &c.typ, &c.notNull, &c.hasDefault, &c.generated); err != nil {
			rows.Close()
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// uniqueKeys returns the column sets of the table's primary key and unique
// constraints (plain unique indexes on columns, not partial, not on
// expressions): those ON CONFLICT (columns) can use.
func uniqueKeys(ctx context.Context, conn *pgx.Conn, quoted string) ([][]string, error) {
	rows, err := conn.Query(ctx, `SELECT array_agg(a.attname::text ORDER BY a.attname)
		FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
		WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
		GROUP BY i.indexrelid`, quoted)
	if err != nil {
		return nil, err
	}
	var keys [][]string
	for rows.Next() {
		var k []string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// checkFit says why the records cannot be written to an existing table
// with columns cols and unique keys uniques, or returns nil: every field
// needs a column of a fitting type, the table's other columns a default or
// NULL, and a key a unique constraint on exactly its columns.
func checkFit(display string, cols []tableColumn, uniques [][]string, in record.Schema, key []string) error {
	var problems []string
	byName := map[string]tableColumn{}
	for _, c := range cols {
		byName[c.name] = c
	}
	for _, f := range in.Columns {
		c, ok := byName[f.Name]
		want := columnTypes[f.Type]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("no column %q for the %s field", f.Name, f.Type))
		case c.generated:
			problems = append(problems, fmt.Sprintf("column %q is generated, so it cannot be written", f.Name))
		case !slices.Contains(want.fits, c.typ):
			problems = append(problems, fmt.Sprintf("column %q is %s, which cannot hold a %s field (want %s)", f.Name, c.typ, f.Type, strings.Join(want.fits, " or ")))
		}
	}
	for _, c := range cols {
		if in.Index(c.name) < 0 && c.notNull && !c.hasDefault {
			problems = append(problems, fmt.Sprintf("column %q is NOT NULL without a default and no field fills it", c.name))
		}
	}
	if len(key) > 0 && !hasUnique(uniques, key) {
		problems = append(problems, fmt.Sprintf("no primary key or unique constraint on exactly (%s), which ON CONFLICT needs", strings.Join(key, ", ")))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("table %s does not fit the records: %s", display, strings.Join(problems, "; "))
}

// hasUnique reports whether one of uniques has exactly the columns of key.
func hasUnique(uniques [][]string, key []string) bool {
	want := slices.Sorted(slices.Values(key))
	for _, u := range uniques {
		if slices.Equal(slices.Sorted(slices.Values(u)), want) {
			return true
		}
	}
	return false
}

// stageFits reports whether an existing staging table has exactly the
// columns createStageSQL makes: COPY's binary format needs the types.
func stageFits(cols []tableColumn, in record.Schema) bool {
	// The task and op columns may be anywhere: they follow the sink's in a
	// table createStageSQL makes, and end one an earlier version made.
	cols = slices.Clone(cols)
	for _, added := range []tableColumn{{name: colTask, typ: "text"}, {name: colOp, typ: "smallint"}} {
		i := slices.IndexFunc(cols, func(c tableColumn) bool { return c.name == added.name })
		if i < 0 || cols[i].typ != added.typ {
			return false
		}
		cols = slices.Delete(cols, i, i+1)
	}
	want := []tableColumn{{name: colPipeline, typ: "text"}, {name: colSink, typ: "text"}, {name: colOrdinal, typ: "bigint"}}
	for _, c := range in.Columns {
		want = append(want, tableColumn{name: c.Name, typ: columnTypes[c.Type].formatted})
	}
	if len(cols) != len(want) {
		return false
	}
	for i, c := range cols {
		if c.name != want[i].name || c.typ != want[i].typ {
			return false
		}
	}
	return true
}
