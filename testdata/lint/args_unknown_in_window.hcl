# "watermark_delay" is not a window argument (it is "watermark"): the user
# should see one "Unsupported argument" error on it with 'Did you mean
# "watermark"?'.
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
    event_time      = "ts"
    size            = "1m"
    watermark_delay = "2m"
    group_by        = ["action"]
    aggregate       = { events = "count()" }
  }
  sink "console" "out" {}
}
