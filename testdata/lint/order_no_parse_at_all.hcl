# A file source yields raw bytes and nothing parses them before the window:
# the user should see one "Missing parse stage" error, and no follow-on error
# about event_time "ts".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
