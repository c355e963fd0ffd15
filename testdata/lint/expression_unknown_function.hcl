# lowercase() is not an expression function (it is lower()): the user should
# see one error on `lowercase` inside the string, ideally with 'Did you mean
# "lower"?'.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  map {
    set = { action = "lowercase(action)" }
  }
  sink "console" "out" {}
}
