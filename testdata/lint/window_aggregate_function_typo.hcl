# "cnt" is not an aggregate function: the user should see one error on `cnt`
# inside the string with 'Did you mean "count"?'.
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
    aggregate  = { events = "cnt()" }
  }
  sink "console" "out" {}
}
