# Neither the input nor the expect file exists: the user should see two "Test
# file not found" errors, one on each path, naming the path resolved against
# this file's folder.
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
  pipeline = "clicks"
  input    = "fixtures/clicks.ndjson"
  expect   = "fixtures/clicks.expected.ndjson"
}
