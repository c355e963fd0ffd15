# An argument at the top level of the file (meant for the source): the user
# should see one "Unsupported argument" error on `path`, line 3.
path = "events.ndjson"

pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
