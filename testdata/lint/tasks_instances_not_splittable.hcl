# instances = 3 on a file source: a file cannot be split among processes.
# The user should see one error on the instances value.
pipeline "clicks" {
  instances = 3
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
