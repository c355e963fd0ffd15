// DuckDB baseline of `go run ./cmd/bench -workload nexmark`: loads the bids
// with one statement, then writes one query's result to an NDJSON file, on
// 2 threads.
//
// usage: node nexmark.mjs OUT.ndjson LOAD_SQL QUERY_SQL
// Prints one JSON line to stdout:
// {"duckdb_version": ..., "load_ms": N, "query_ms": N, "rows": N}.
import { DuckDBInstance, version } from '@duckdb/node-api';

const [output, load, query] = process.argv.slice(2);
if (!output || !load || !query) {
  console.error('usage: node nexmark.mjs OUT.ndjson LOAD_SQL QUERY_SQL');
  process.exit(2);
}
const literal = (s) => "'" + s.replaceAll("'", "''") + "'";

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
await conn.run('SET threads = 2');
const t0 = performance.now();
await conn.run(load);
const t1 = performance.now();
const reader = await conn.runAndReadAll(`COPY (${query}) TO ${literal(output)} (FORMAT json)`);
const t2 = performance.now();
const rows = reader.getRows();
const written = rows.length > 0 ? Number(rows[0][0]) : -1;
console.log(JSON.stringify({ duckdb_version: version(), load_ms: Math.round(t1 - t0), query_ms: Math.round(t2 - t1), rows: written }));
conn.closeSync();
instance.closeSync();
