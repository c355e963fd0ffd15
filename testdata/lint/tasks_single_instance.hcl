# instances = 1 (the default, written out here) runs the pipeline as one
# process owning every partition, as before tasks existed, so windows may group by anything (start only one
# such process: with checkpoints, a second one is refused by the lease).
# Lints clean.
pipeline "clicks" {
  instances = 1
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
