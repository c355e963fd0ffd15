# Per-minute activity per action, read from a Pulsar topic: the pipeline of
# user_activity.hcl with a console sink. `sluice demo` runs it against its
# embedded broker; to run it yourself:
#
#   sluice broker --partitions 4=user-events &
#   sluice produce --key user_id user-events testdata/user_events.ndjson
#   sluice run pipelines/user_activity_pulsar.hcl
#
# or point SLUICE_PULSAR_URL at a real cluster.
pipeline "user_activity_pulsar" {
  # One process owns every partition: the messages are keyed by user_id,
  # not by the action the window groups by. To share the pipeline among
  # several processes, key them by action and declare partitioned_by =
  # ["action"] on the source instead (docs/scaling.md).
  instances = 1

  source "pulsar" {
    service_url  = env("SLUICE_PULSAR_URL", "pulsar://127.0.0.1:6650")
    topics       = ["persistent://public/default/user-events"]
    subscription = "sluice-user-activity"
    start        = "earliest"
  }

  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s" # seconds, fractions allowed: 1767225600.25
    }
    field "device" {
      type     = "string"
      required = false
    }
  }

  filter {
    where = "action != 'heartbeat'"
  }

  window "tumbling" {
    event_time   = "ts"
    size         = "1m"
    watermark    = "10s"
    idle_timeout = "5s"
    group_by     = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
  }

  sink "console" "counts" {}
}
