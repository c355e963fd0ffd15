// Runs SQL with DuckDB for sluice's tests (internal/duckdbtest), in order, on
// one connection.
//
// usage: node query.mjs < {"queries": ["SQL", ...]}
// Prints one JSON object: {"version": "v1.5.6", "results": [...]}, one result
// per query: {"columns": [...], "types": [...], "rows": [[...], ...]} with
// values as DuckDB's JSON conversion gives them (BIGINT as strings,
// TIMESTAMP WITH TIME ZONE in the process's TZ, whatever DuckDB's TimeZone
// setting), or {"error": "..."}.
import { DuckDBInstance, version } from '@duckdb/node-api';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { queries } = JSON.parse(input);

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const results = [];
for (const sql of queries) {
  try {
    const reader = await conn.runAndReadAll(sql);
    results.push({
      columns: reader.columnNames(),
      types: reader.columnTypes().map(String),
      rows: reader.getRowsJson(),
    });
  } catch (e) {
    results.push({ error: String(e) });
  }
}
console.log(JSON.stringify({ version: version(), results }));
conn.closeSync();
instance.closeSync();
