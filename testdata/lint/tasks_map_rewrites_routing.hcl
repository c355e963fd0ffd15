# Messages are keyed by action, but a map lowercases action before the
# window: "Click" and "click" may sit in different partitions and end in
# one group. The user should see one error on the map block.
pipeline "clicks" {
  instances = 3
  source "pulsar" {
    service_url       = "pulsar://127.0.0.1:6650"
    topics            = ["clicks"]
    subscription      = "sluice-clicks"
    subscription_type = "failover"
    partitioned_by    = ["action"]
  }
  parse "json" {
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  map {
    set = { action = "lower(action)" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
