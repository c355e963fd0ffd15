# A checkpoint block loaded with a pipeline reading source "generate", which
# cannot resume: sluice run refuses that pipeline, so lint must too. The
# user should see one error on the generate source block saying it cannot
# resume and how to opt the pipeline out; the file pipeline keeps its
# checkpoints.
pipeline "from_file" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}

pipeline "generated" {
  source "generate" {
    rate = 10
  }
  sink "console" "out" {}
}

checkpoint {
  store = "file:///var/lib/sluice/checkpoints"
}
