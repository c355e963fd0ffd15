# A filter condition must yield a bool; `user_id` is an int. The user should
# see one error on the expression saying it yields int, not bool (for example
# write user_id != 0).
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  filter {
    where = "user_id"
  }
  sink "console" "out" {}
}
