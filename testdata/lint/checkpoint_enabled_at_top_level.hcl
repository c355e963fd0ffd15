# enabled belongs to a pipeline's own checkpoint block: at the top level,
# leaving the block out is how checkpoints are turned off. The user should
# see one "Unsupported argument" error on enabled.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}

checkpoint {
  store   = "checkpoints"
  enabled = false
}
