# One top-level checkpoint block for two pipelines: the one reading source
# "generate" opts out with checkpoint { enabled = false }, the other changes
# its interval. Must lint clean: 0 errors, 0 warnings.
pipeline "from_file" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}

  checkpoint {
    every         = "1m"
    lease_timeout = "10s"
  }
}

pipeline "generated" {
  source "generate" {
    rate = 10
  }
  sink "console" "out" {}

  checkpoint {
    enabled = false
  }
}

checkpoint {
  store = "file:///var/lib/sluice/checkpoints"
}
