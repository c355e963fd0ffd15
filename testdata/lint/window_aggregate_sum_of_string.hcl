# sum(action) adds up strings: the user should see one error on `action`
# inside the string saying sum needs a number (int or float), got string.
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
    aggregate  = { total = "sum(action)" }
  }
  sink "console" "out" {}
}
