# A window without aggregate has nothing to compute: the user should see one
# "Missing required argument" error on the window block about "aggregate".
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
    group_by   = ["action"]
  }
  sink "console" "out" {}
}
