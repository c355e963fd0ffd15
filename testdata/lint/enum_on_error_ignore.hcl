# on_error = "ignore" is not one of drop, dead_letter, fail: the user should
# see one "Invalid value" error on "ignore" listing the three values (and
# probably suggesting "drop").
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    on_error = "ignore"
  }
  sink "console" "out" {}
}
