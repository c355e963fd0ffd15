// Package latetest holds the end-to-end test of late data corrected by a
// changelog (docs/event-time.md, "Allowed lateness" and "Row kinds and
// sink contracts"): `sluice run` reads a file of events, some arriving
// within a window's allowed lateness and some beyond it, into a tumbling
// and a session window with allowed_lateness, upserted into PostgreSQL
// and indexed into Elasticsearch (the project's double); the final tables
// and indices must equal a batch computation over the events within the
// allowed lateness, with and without kill -9. It has no code outside its
// tests.
package latetest
