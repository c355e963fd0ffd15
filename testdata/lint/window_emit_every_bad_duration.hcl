# emit = "every ten seconds": the form is right but the duration is not. The
# user should see one error on the string with an example such as
# "every 10s".
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
    emit       = "every ten seconds"
  }
  sink "console" "out" {}
}
