// DuckDB baseline of `go run ./cmd/bench`: the reference aggregate as one SQL
// query over the NDJSON file, on 2 threads, written to an NDJSON file.
//
// usage: node bench.mjs EVENTS.ndjson OUT.ndjson
// Prints one JSON line to stdout: {"duckdb_version": ..., "rows": N}.
import { DuckDBInstance, version } from '@duckdb/node-api';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node bench.mjs EVENTS.ndjson OUT.ndjson');
  process.exit(2);
}
const literal = (s) => "'" + s.replaceAll("'", "''") + "'";

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
await conn.run('SET threads = 2');
const reader = await conn.runAndReadAll(`
COPY (
  SELECT ts // 60000 * 60000 AS window_start,
         action,
         count(*) AS events,
         count(DISTINCT user_id) AS users
  FROM read_ndjson(${literal(input)},
                   columns = {user_id: 'BIGINT', action: 'VARCHAR', ts: 'BIGINT', device: 'VARCHAR'})
  WHERE action <> 'heartbeat'
  GROUP BY window_start, action
  ORDER BY window_start, action
) TO ${literal(output)} (FORMAT json)`);
const rows = reader.getRows();
const written = rows.length > 0 ? Number(rows[0][0]) : -1;
console.log(JSON.stringify({ duckdb_version: version(), rows: written }));
conn.closeSync();
instance.closeSync();
