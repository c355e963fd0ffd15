# The where condition has an unbalanced parenthesis: the user should see one
# "Invalid expression" error pointing inside the string at the place where the
# expression breaks.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  filter {
    where = "(action == 'click' && user_id > 0"
  }
  sink "console" "out" {}
}
