# A checkpoint block inside a pipeline without a store, and no top-level
# checkpoint block to take one from. The user should see one "Missing
# checkpoint store" error on the pipeline's checkpoint block.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}

  checkpoint {
    every = "30s"
  }
}
