# parse "json" declares field "action" twice: the user should see one
# "Duplicate field" error on the second "action" label, naming where the first
# one is.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
