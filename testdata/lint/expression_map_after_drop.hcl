# The first map drops `device`; the second map reads it. The user should see
# one "Unknown field in expression" error on `device` in the second map.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    field "device" { type = "string" }
  }
  map {
    drop = ["device"]
  }
  map {
    set = { mobile = "device in ['ios', 'android']" }
  }
  sink "console" "out" {}
}
