# A map set value reads "actoin", a typo of "action": the user should see one
# "Unknown field in expression" error on `actoin` with 'Did you mean
# "action"?'.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  map {
    set = { action = "lower(actoin)" }
  }
  sink "console" "out" {}
}
