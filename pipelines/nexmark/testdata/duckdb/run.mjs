// Runs SQL statements with DuckDB, in order, for the Nexmark queries' test.
//
// usage: node run.mjs < {"statements": ["SQL", ...]}
// Prints one JSON object: {"version": "v1.5.6"} when every statement ran, or
// {"version": ..., "error": "...", "statement": N} at the first failure.
import { DuckDBInstance, version } from '@duckdb/node-api';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { statements } = JSON.parse(input);

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const out = { version: version() };
for (const [i, sql] of statements.entries()) {
  try {
    await conn.run(sql);
  } catch (e) {
    out.error = String(e);
    out.statement = i;
    break;
  }
}
console.log(JSON.stringify(out));
conn.closeSync();
instance.closeSync();
