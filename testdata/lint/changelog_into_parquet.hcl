# Updates every 10 s into Parquet, which appends: changelog = true or an
# upsert sink would take them.
pipeline "clicks" {
  source "file" { path = "events.ndjson" }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
    emit       = "every 10s"
  }
  sink "parquet" "lake" { path = "lake" }
}
