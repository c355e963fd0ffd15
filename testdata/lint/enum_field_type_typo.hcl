# "integer" is not a field type (it is "int"): the user should see one error
# on "integer" listing string, int, float, bool, timestamp, ideally with
# 'Did you mean "int"?'.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "integer" }
    field "action" { type = "string" }
  }
  filter {
    where = "user_id > 0"
  }
  sink "console" "out" {}
}
