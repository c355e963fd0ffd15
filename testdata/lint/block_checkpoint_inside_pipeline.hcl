# checkpoint is a top-level block, not a pipeline stage: the user should see
# one error on `checkpoint` saying it belongs at the top level of the file.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}

  checkpoint {
    store = "file:///var/lib/sluice/checkpoints"
  }
}
