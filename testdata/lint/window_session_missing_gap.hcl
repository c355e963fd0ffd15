# A session window needs a gap, not a size: the user should see an error
# "size" is not expected (did you mean "gap"?) and one about the missing gap,
# or ideally a single error suggesting gap.
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
  window "session" {
    event_time = "ts"
    size       = "30m"
    group_by   = ["user_id"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
