# offset must be less than size: "1h" for a 1h tumbling window is the same as
# no offset. The user should see one error on offset.
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
    size       = "1h"
    offset     = "1h"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
