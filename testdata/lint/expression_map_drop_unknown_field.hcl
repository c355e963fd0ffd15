# map drops "devise", which is not a field (typo of "device"): the user should
# see one error with the caret on "devise" in the list and 'Did you mean
# "device"?'.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "device" { type = "string" }
  }
  map {
    drop = ["devise"]
  }
  sink "console" "out" {}
}
