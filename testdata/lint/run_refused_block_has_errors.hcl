# A filter whose condition names an unknown field: the block has errors, so
# sluice run refuses the pipeline ("has errors; run sluice lint"). The user
# should see the error itself, on "acton", with the suggestion "action".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter { where = "acton == 'click'" }
  sink "console" "out" {}
}
