# unit = "millis" is not a timestamp unit (it is "ms"): the user should see
# one error on "millis" listing s, ms, us, ns, rfc3339.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "millis"
    }
  }
  sink "console" "out" {}
}
