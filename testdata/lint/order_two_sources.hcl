# A pipeline reads one source: the user should see one "Duplicate source"
# error on the second source block, naming where the first one is.
pipeline "clicks" {
  source "file" {
    path = "events-1.ndjson"
  }
  source "file" {
    path = "events-2.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
