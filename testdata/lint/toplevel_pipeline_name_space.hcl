# A pipeline name with a space cannot be used as a folder name or a metric
# label: the user should see one "Invalid pipeline name" error with the caret
# on the label "user activity".
pipeline "user activity" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
