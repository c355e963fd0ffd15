# A window needs its kind as a label: the user should see one "Missing kind
# label" error on `window`, suggesting window "tumbling", "sliding" or
# "session".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "ms"
    }
  }
  window {
    event_time = "ts"
    size       = "1m"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
