# The string holds a \u escape and a multi-byte character before an unknown
# field: the caret must still land exactly on `acton`.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  filter {
    where = "'caf\u00e9 é' != acton"
  }
  sink "console" "out" {}
}
