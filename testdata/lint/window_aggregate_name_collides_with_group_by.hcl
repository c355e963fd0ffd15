# The aggregate "action" has the name of a group_by column, so the output row
# would have two "action" columns: the user should see one error on the
# aggregate name "action" saying it collides with the group_by field.
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
    aggregate = {
      action = "count()"
    }
  }
  sink "console" "out" {}
}
