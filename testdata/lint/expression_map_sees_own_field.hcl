# The expressions of one map block all read the input record, so they do not
# see each other's results: `shout` reads `lowered`, which this same map
# creates. The user should see one "Unknown field in expression" error on
# `lowered`, ideally saying it is set by the same map and to use a second map
# block.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  map {
    set = {
      lowered = "lower(action)"
      shout   = "upper(lowered)"
    }
  }
  sink "console" "out" {}
}
