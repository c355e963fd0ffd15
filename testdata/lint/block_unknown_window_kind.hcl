# "hopping" is what some systems call a sliding window: the user should see
# one "Unknown window kind" error on "hopping" listing session, sliding and
# tumbling (ideally hinting at "sliding"), and no follow-on error about the
# filter that reads the window's output columns.
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
  window "hopping" {
    event_time = "ts"
    size       = "5m"
    slide      = "1m"
    aggregate  = { events = "count()" }
  }
  filter {
    where = "events > 10"
  }
  sink "console" "out" {}
}
