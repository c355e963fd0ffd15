# watermark = "60" has no unit (seconds? milliseconds?): the user should see
# one error on "60" saying a unit is required, e.g. "60s".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "60"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
