# late = "dead_letter" on a window, with no dead_letter block in the pipeline:
# the user should see one warning on "dead_letter" in the window.
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
    on_error = "drop"
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    aggregate  = { events = "count()" }
    late       = "dead_letter"
  }
  sink "console" "out" {}
}
