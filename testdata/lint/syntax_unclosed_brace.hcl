# The pipeline block is never closed: the user should see one
# "Unclosed configuration block" error pointing at the opening brace of
# pipeline "clicks" (line 4), not a cascade of errors.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
