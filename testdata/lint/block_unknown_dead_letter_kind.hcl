# There is no s3 dead letter: the user should see one "Unknown dead_letter
# kind" error on "s3", listing the known kinds (file).
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    on_error = "dead_letter"
  }
  sink "console" "out" {}
  dead_letter "s3" {
    path = "s3://analytics/dead/clicks"
  }
}
