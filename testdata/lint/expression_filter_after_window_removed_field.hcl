# After a window only window_start, window_end, the group_by fields and the
# aggregates remain: the filter reads `user_id`, which the window consumed.
# The user should see one "Unknown field in expression" error on `user_id`,
# ideally listing the window's output columns.
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
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  filter {
    where = "user_id > 0"
  }
  sink "console" "out" {}
}
