# instances = 3 on a Pulsar failover subscription lets several sluice
# processes share the pipeline, each running the partitions it owns as
# tasks. The window groups
# by action, but the source does not say how the producer routes messages,
# so one action's records may be in several partitions and each process
# would count only its share. The user should see one error on group_by
# naming the three fixes.
pipeline "clicks" {
  instances = 3
  source "pulsar" {
    service_url       = "pulsar://127.0.0.1:6650"
    topics            = ["clicks"]
    subscription      = "sluice-clicks"
    subscription_type = "failover"
  }
  parse "json" {
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
