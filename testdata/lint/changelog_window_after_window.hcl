# A second window reads the first one's changelog: it would count each
# result once per revision.
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
    allowed_lateness = "5m"
    group_by         = ["action"]
    aggregate        = { events = "count()" }
  }
  window "tumbling" {
    event_time = "window_start"
    size       = "1h"
    aggregate  = { busiest = "max(events)" }
  }
  sink "console" "out" {}
}
