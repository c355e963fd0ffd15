# Per-minute activity per action, from a Kafka topic to a Kafka topic,
# exactly once: the window results of each checkpoint are produced in one
# Kafka transaction committed once the checkpoint is durable
# (docs/connectors/kafka.md). To run it against a broker on this machine:
#
#   SLUICE_KAFKA_BROKER=127.0.0.1:9092 sluice run pipelines/kafka_user_activity.hcl
checkpoint {
  store = "file:///tmp/sluice/checkpoints"
  every = "10s"
}

pipeline "kafka_user_activity" {
  source "kafka" {
    brokers = [env("SLUICE_KAFKA_BROKER", "127.0.0.1:9092")]
    topics  = ["user-events"]
    group   = "sluice-user-activity"
    start   = "earliest"
  }

  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
    field "device" {
      type     = "string"
      required = false
    }
  }

  filter {
    where = "action != 'heartbeat'"
  }

  map {
    set = { action = "lower(action)" }
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

  sink "kafka" "counts" {
    brokers = [env("SLUICE_KAFKA_BROKER", "127.0.0.1:9092")]
    topic   = "user-activity"
  }
}

# Run with: sluice test pipelines/
test "kafka_user_activity_fixture" {
  pipeline = "kafka_user_activity"
  input    = "../testdata/user_events.ndjson"
  expect   = "../testdata/expected/kafka_user_activity.ndjson"
}
