# The records are already parsed by the first parse stage: a second parse has
# nothing to parse. The user should see one "Nothing to parse" error on the
# second parse block.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  parse "csv" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
