# A source block written at the top level of the file instead of inside the
# pipeline: the user should see an error on `source` (line 5) saying a source
# block belongs inside a pipeline "NAME" { ... } block, plus "Pipeline has no
# source" for the pipeline that lost it.
source "file" {
  path = "events.ndjson"
}

pipeline "clicks" {
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
