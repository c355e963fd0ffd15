# A typo in a field name inside an expression string is reported at the
# exact column of the name inside the string, with a suggestion.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  filter { where = "acton == 'click'" }
  sink "console" "out" {}
}
