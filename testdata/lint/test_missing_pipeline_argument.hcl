# A test without `pipeline`: the user should see one "Missing required
# argument" error on the test block (a test must name the pipeline it runs),
# unless the file has a single pipeline and it is documented as the default.
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
  input  = "../user_events.ndjson"
  expect = "../user_events.ndjson"
}
