# Two checkpoint blocks in one file: the user should see one "Duplicate
# checkpoint" error on the second block, naming where the first one is.
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
  store = "file:///var/lib/sluice/checkpoints"
}

checkpoint {
  store = "s3://analytics/checkpoints"
  every = "30s"
}
