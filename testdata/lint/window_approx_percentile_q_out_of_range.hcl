# approx_percentile takes q between 0 and 1; 95 was meant as 0.95. The user
# should see one error on 95 inside the string.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { p95 = "approx_percentile(user_id, 95)" }
  }
  sink "console" "out" {}
}
