# group_by is a list of field names, but an object is given: the user should
# see one "Incorrect value type" error on the object saying a list of strings
# is required, e.g. ["action"].
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
    group_by   = { action = "action" }
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
