# A negative watermark makes no sense: the user should see one error on "-30s"
# saying the duration must not be negative.
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
    watermark  = "-30s"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
