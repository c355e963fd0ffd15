# `action + 1` adds an int to a string: the user should see one type error
# pointing at the `+` (or at the whole `action + 1`) inside the string.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  map {
    set = { next = "action + 1" }
  }
  sink "console" "out" {}
}
