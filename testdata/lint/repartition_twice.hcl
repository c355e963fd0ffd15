# Two shuffles in one pipeline: the second is refused.
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
    key         = ["action"]
  }
  repartition "pulsar" {
    service_url = "pulsar://127.0.0.1:6650"
    topic       = "clicks-by-action"
    partitions  = 8
    key         = ["action"]
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
