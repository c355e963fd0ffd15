# Two pipelines named "clicks" in one file: the user should see one "Duplicate
# pipeline name" error on the second label, naming where the first one is.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}

pipeline "clicks" {
  source "generate" {
    rate = 10
  }
  sink "console" "out" {}
}
