# env() of an unset variable WITH a default: this lints clean (0 errors), the
# default is used.
pipeline "clicks" {
  source "file" {
    path = env("SLUICE_LINT_TEST_UNSET_VAR", "events.ndjson")
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
