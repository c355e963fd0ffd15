# The window's event time is made after the shuffle: the publishers before
# it cannot compute the watermark from it.
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
  map {
    set = { seen = "ts" }
  }
  window "tumbling" {
    event_time = "seen"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
