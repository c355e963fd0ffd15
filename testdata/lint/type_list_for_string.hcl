# The file source reads one file: path is a string, not a list. The user
# should see one "Incorrect value type" error on the list, saying a string is
# required.
pipeline "clicks" {
  source "file" {
    path = ["events-1.ndjson", "events-2.ndjson"]
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
