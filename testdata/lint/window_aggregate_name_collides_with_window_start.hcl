# The aggregate "window_start" collides with the column every window emits:
# the user should see one error on the aggregate name.
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
    size       = "1m"
    aggregate = {
      window_start = "min(ts)"
    }
  }
  sink "console" "out" {}
}
