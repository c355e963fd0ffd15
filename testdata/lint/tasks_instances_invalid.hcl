# instances must be a whole number of at least 1. The user should see one
# error on the value.
pipeline "clicks" {
  instances = 0
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
