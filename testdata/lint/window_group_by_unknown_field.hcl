# group_by names "acton", a typo of "action": the user should see one error
# with the caret on "acton" inside the list and 'Did you mean "action"?'.
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
    group_by   = ["user_id", "acton"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
