# event_time names "user_id", an int: the user should see one error on
# "user_id" saying the event time field must be a timestamp, naming "ts".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
  }
  window "tumbling" {
    event_time = "user_id"
    size       = "1m"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
