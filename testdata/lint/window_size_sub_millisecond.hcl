# Event time is carried in milliseconds, so a window size of 500us cannot be
# represented: the user should see one error on "500us" saying size must be a
# whole number of milliseconds.
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
    event_time = "ts"
    size       = "500us"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
