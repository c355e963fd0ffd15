# The aggregate map declares "events" twice: the user should see one
# "Duplicate key" error on the second "events".
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
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
      events = "count_distinct(action)"
    }
  }
  sink "console" "out" {}
}
