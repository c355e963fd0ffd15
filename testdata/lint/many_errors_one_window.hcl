# Several independent mistakes in one window: all are reported at once, each
# at its own token (unknown event_time field, bad size, unknown group_by field,
# bad aggregate function, bad late value).
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
    event_time = "tss"
    size       = "1 minute"
    group_by   = ["acton"]
    aggregate = {
      events = "cnt()"
      users  = "count_distinct(usr_id)"
    }
    late = "keep"
  }
  sink "console" "out" {}
}
