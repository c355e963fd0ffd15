# partitioned_by names a field the parsed records do not have (a typo of
# action). The user should see one error on partitioned_by.
pipeline "clicks" {
  instances = 3
  source "pulsar" {
    service_url       = "pulsar://127.0.0.1:6650"
    topics            = ["clicks"]
    subscription      = "sluice-clicks"
    subscription_type = "failover"
    partitioned_by    = ["acton"]
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
