# late = "keep" is not supported (late records can only be dropped or sent to
# the dead letter): the user should see one error on "keep" listing drop and
# dead_letter.
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
    aggregate  = { events = "count()" }
    late       = "keep"
  }
  sink "console" "out" {}
}
