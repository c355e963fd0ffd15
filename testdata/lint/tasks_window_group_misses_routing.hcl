# The producer keys messages by user_id, but the window groups by action:
# one action's records are spread over every partition. The user should see
# one error on group_by naming the field it misses.
pipeline "clicks" {
  instances = 3
  source "pulsar" {
    service_url       = "pulsar://127.0.0.1:6650"
    topics            = ["clicks"]
    subscription      = "sluice-clicks"
    subscription_type = "failover"
    partitioned_by    = ["user_id"]
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
