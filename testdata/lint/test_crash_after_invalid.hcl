# crash_after counts checkpoints: 0 is refused.
pipeline "clicks" {
  source "file" { path = "events.ndjson" }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}

test "crashes" {
  pipeline    = "clicks"
  input       = "../user_events.ndjson"
  expect      = "../expected/user_activity.ndjson"
  crash_after = 0
}
