# size = "1 minute" is not a duration: the user should see one "Invalid value
# for argument" error on the string with examples such as "90s" or "1m30s".
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
    size       = "1 minute"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
