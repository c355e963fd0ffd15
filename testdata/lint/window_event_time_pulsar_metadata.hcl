# A window may take its event time from a Pulsar source's metadata
# (pulsar.publish_time or pulsar.event_time); a misspelled one gets a hint.
pipeline "clicks" {
  source "pulsar" {
    topics       = ["user-events"]
    subscription = "sluice"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  window "tumbling" {
    event_time = "pulsar.publish_tim"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
