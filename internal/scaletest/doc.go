// Package scaletest holds the multi-process test of running one pipeline
// as tasks (docs/scaling.md): several `sluice run` processes share a
// Pulsar failover subscription of the project's broker, are killed with
// SIGKILL, stopped and restarted, and the rows they commit together to
// Parquet and to a PostgreSQL upsert table must equal the windows computed
// from the events. It has no code outside its tests.
package scaletest
