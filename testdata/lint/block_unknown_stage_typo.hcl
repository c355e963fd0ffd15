# "fliter" is a typo of "filter": the user should see one "Unsupported block
# type" error with the caret on `fliter` and 'Did you mean "filter"?'.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  fliter {
    where = "action == 'click'"
  }
  sink "console" "out" {}
}
