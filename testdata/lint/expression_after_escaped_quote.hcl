# The string holds an escaped quote (\") before an unknown field: the caret
# must still land exactly on `acton` in the source line, i.e. the column
# accounts for the two-character \" escape.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  filter {
    where = "\"click\" == acton"
  }
  sink "console" "out" {}
}
