# The test names pipeline "click", but the pipeline is "clicks": the user
# should see one "Unknown pipeline" error on "click" with 'Did you mean
# "clicks"?'.
pipeline "clicks" {
  source "file" {
    path = "../user_events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}

test "counts_clicks" {
  pipeline = "click"
  input    = "../user_events.ndjson"
  expect   = "../user_events.ndjson"
}
