# The same argument written twice in one block: the user should see one
# "Attribute redefined" error on the second `path`.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
    path = "events-2.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
