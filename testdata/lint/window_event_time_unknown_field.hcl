# event_time names "time", which is not a field (the timestamp is "ts"): the
# user should see one error on "time" with a hint naming "ts" (a did-you-mean
# or the list of timestamp fields).
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
    event_time = "time"
    size       = "1m"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
