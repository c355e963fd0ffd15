# "follw" is a typo of "follow": the user should see one "Unsupported
# argument" error with the caret on `follw` and 'Did you mean "follow"?'.
pipeline "clicks" {
  source "file" {
    path  = "events.ndjson"
    follw = true
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
