# Two tests named "counts_clicks": the user should see one "Duplicate test"
# error on the second label, naming where the first one is.
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
  input    = "../user_events.ndjson"
  expect   = "../user_events.ndjson"
}

test "counts_clicks" {
  pipeline = "clicks"
  input    = "../user_events.ndjson"
  expect   = "../user_events.ndjson"
  ordered  = true
}
