# count_distinct takes exactly one argument: the user should see one error on
# the call saying count_distinct(x) takes one argument, got two.
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
    aggregate  = { users = "count_distinct(user_id, action)" }
  }
  sink "console" "out" {}
}
