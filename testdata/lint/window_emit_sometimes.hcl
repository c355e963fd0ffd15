# emit = "sometimes" is neither "on_close" nor "every D": the user should see
# one error on the string showing both accepted forms.
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
    aggregate  = { events = "count()" }
    emit       = "sometimes"
  }
  sink "console" "out" {}
}
