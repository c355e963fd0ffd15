# A window that corrects its rows for late records writes to a file that
# appends every row: each result would appear once per revision. One error
# at the sink, naming changelog = true and the upsert sinks as fixes.
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
  sink "file" "out" { path = "out.ndjson" }
}
