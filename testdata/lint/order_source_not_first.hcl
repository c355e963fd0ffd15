# The source is written after the parse stage: stages run in the order
# written, so the source must come first. The user should see one error on
# the source block saying it must be the first block of the pipeline.
pipeline "clicks" {
  parse "json" {
    field "action" { type = "string" }
  }
  source "file" {
    path = "events.ndjson"
  }
  sink "console" "out" {}
}
