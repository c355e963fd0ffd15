# Two sinks named "out": sink names key checkpoints and metrics, so they must
# be unique. The user should see one "Duplicate sink name" error on the second
# "out" label, naming where the first one is.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "file" "out" {
    path = "out/clicks.ndjson"
  }
  sink "console" "out" {}
}
