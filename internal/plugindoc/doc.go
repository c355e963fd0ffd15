// Package plugindoc renders the documentation of plugins from their
// declarations (plugins.Plugin and its schema.Spec), the one source of truth:
// the listing and the per-plugin reference printed by `sluice plugins`, and
// the Markdown reference committed as docs/plugins.md.
//
// Every renderer is deterministic: the same environment always yields the
// same bytes, so the generated Markdown can be checked in and compared by a
// test.
package plugindoc
