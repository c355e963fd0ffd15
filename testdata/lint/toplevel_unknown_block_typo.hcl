# "pipline" is a typo of "pipeline": the user should see one "Unsupported
# block type" error with the caret on `pipline` and 'Did you mean "pipeline"?'.
pipline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
