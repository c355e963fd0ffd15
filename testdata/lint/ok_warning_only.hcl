# A valid pipeline with a single warning: a stage written after a sink.
# The user should see exactly one warning and "0 errors, 1 warning", exit 0.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "debug" {}
  filter {
    where = "action == 'click'"
  }
  sink "file" "clicks" {
    path = "out/clicks.ndjson"
  }
}
