# Messages are keyed by action and the windows group by action (and more):
# every group lives in one partition, so any number of processes may share
# the pipeline. Lints clean.
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
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  map {
    set = { day = "string(ts)" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action", "user_id"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
