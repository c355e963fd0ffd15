# The same with changelog = true: every row is written with its op.
pipeline "clicks" {
  source "file" { path = "events.ndjson" }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time       = "ts"
    size             = "1m"
    allowed_lateness = "10m"
    group_by         = ["action"]
    aggregate        = { events = "count()" }
  }
  sink "file" "out" {
    path      = "out.ndjson"
    changelog = true
  }
  sink "console" "debug" {}
}
