# The shuffle routes by action and user_id, but the window groups by action
# only: one action's records are in several partitions of the shuffle. One
# error on group_by, naming the missing key field.
pipeline "clicks" {
  source "pulsar" {
    service_url       = "pulsar://127.0.0.1:6650"
    topics            = ["clicks"]
    subscription      = "sluice-clicks"
    subscription_type = "failover"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  repartition "pulsar" {
    service_url = "pulsar://127.0.0.1:6650"
    topic       = "clicks-by-action"
    partitions  = 8
    key         = ["action", "user_id"]
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
